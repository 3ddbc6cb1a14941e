// An exception escapes a thread's function.
// Expect: terminate called after throwing an instance of 'std::runtime_error'
#include <cstdio>
#include <stdexcept>
#include <thread>

__attribute__((noinline)) void replay_journal() {
  throw std::runtime_error("journal is corrupt");
}

int main() {
  std::thread t(replay_journal);
  t.join();
  std::printf("DONE\n");
}

// The owner frees a session while a worker still reads it; only a sleep separates them.
// Expect: WARNING: ThreadSanitizer: heap-use-after-free; top frame read_session_id.
#include <unistd.h>

#include <cstdio>
#include <thread>

struct Session {
  long id = 42;
};

__attribute__((noinline)) long read_session_id(const Session* s) {
  return s->id;
}

int main() {
  auto* session = new Session;
  std::thread worker([session] {
    usleep(100 * 1000);  // the owner deletes first; no lock orders the two
    std::printf("id=%ld\n", read_session_id(session));
  });
  usleep(10 * 1000);
  delete session;
  worker.join();
  std::printf("DONE\n");
}

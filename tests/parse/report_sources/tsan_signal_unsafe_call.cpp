// A signal handler allocates memory: malloc is not async-signal-safe.
// Expect: WARNING: ThreadSanitizer: signal-unsafe call inside of a signal; top frame on_reload.
#include <signal.h>

#include <cstdio>
#include <cstdlib>

volatile void* sink;

void on_reload(int) {
  void* p = std::malloc(64);
  sink = p;
  std::free(p);
}

int main() {
  signal(SIGUSR1, on_reload);
  raise(SIGUSR1);
  std::printf("DONE\n");
}

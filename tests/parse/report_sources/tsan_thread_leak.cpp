// Three threads are started and never joined nor detached.
// Expect: WARNING: ThreadSanitizer: thread leak, "And 2 more similar thread leaks."
#include <pthread.h>
#include <unistd.h>

#include <cstdio>

void* flush_cache(void*) {
  return nullptr;
}

__attribute__((noinline)) void start_flushers() {
  for (int i = 0; i < 3; ++i) {
    pthread_t t;
    pthread_create(&t, nullptr, flush_cache, nullptr);
  }
}

int main() {
  start_flushers();
  usleep(50 * 1000);  // let the threads finish, so the leak is of finished, unjoined threads
  std::printf("DONE\n");
}

// A mutex is locked after it was destroyed.
// Expect: WARNING: ThreadSanitizer: use of an invalid mutex (e.g. uninitialized or destroyed).
#include <pthread.h>

#include <cstdio>

__attribute__((noinline)) void lock_after_shutdown(pthread_mutex_t* m) {
  pthread_mutex_lock(m);
  pthread_mutex_unlock(m);
}

int main() {
  pthread_mutex_t m;
  pthread_mutex_init(&m, nullptr);
  pthread_mutex_destroy(&m);
  lock_after_shutdown(&m);
  std::printf("DONE\n");
}

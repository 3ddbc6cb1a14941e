// A mutex is destroyed while still held.
// Expect: WARNING: ThreadSanitizer: destroy of a locked mutex; top frame close_queue.
#include <pthread.h>

#include <cstdio>

__attribute__((noinline)) void close_queue(pthread_mutex_t* m) {
  pthread_mutex_destroy(m);
}

int main() {
  pthread_mutex_t m;
  pthread_mutex_init(&m, nullptr);
  pthread_mutex_lock(&m);
  close_queue(&m);
  std::printf("DONE\n");
}

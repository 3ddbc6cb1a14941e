// An error path unlocks a mutex it never locked.
// Expect: WARNING: ThreadSanitizer: unlock of an unlocked mutex (or by a wrong thread).
#include <pthread.h>

#include <cstdio>

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) void abort_enqueue() {
  pthread_mutex_unlock(&queue_lock);
}

int main() {
  abort_enqueue();
  std::printf("DONE\n");
}

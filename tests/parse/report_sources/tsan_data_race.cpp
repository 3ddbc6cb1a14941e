// Two threads bump a plain int without a lock.
// Expect: WARNING: ThreadSanitizer: data race; top frame bump_hits.
#include <pthread.h>

#include <cstdio>
#include <thread>

int hits;
pthread_barrier_t start;

__attribute__((noinline)) void bump_hits() {
  hits = hits + 1;
}

void worker() {
  // Both threads pass the barrier before touching `hits`, so their accesses overlap in time
  // and nothing orders them.
  pthread_barrier_wait(&start);
  bump_hits();
}

int main() {
  pthread_barrier_init(&start, nullptr, 2);
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  std::printf("hits=%d\nDONE\n", hits);
}

// Several reports of different kinds, with the program's own output between and around them
// (run with stdout and stderr into one stream, stdout unbuffered). Built with
// -fsanitize=thread,undefined.
// Expect: data_race (bump_total), undefined_behavior (scale_total), lock_order_inversion,
// thread_leak, and the progress lines, in one text.
#include <pthread.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <mutex>
#include <thread>

long total;
pthread_barrier_t start;
std::mutex stats;
std::mutex config;

__attribute__((noinline)) void bump_total() {
  total = total + 1;
}
__attribute__((noinline)) int scale_total(int v, int by) {
  return v * by;
}

void worker(int id) {
  std::printf("worker %d: started\n", id);
  pthread_barrier_wait(&start);
  bump_total();
  std::printf("worker %d: done\n", id);
}

void* background(void*) {
  return nullptr;
}

int main(int argc, char**) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  std::printf("run: phase 1, %d workers\n", 2);
  pthread_barrier_init(&start, nullptr, 2);
  std::thread a(worker, 1), b(worker, 2);
  a.join();
  b.join();
  std::printf("run: phase 2\n");
  std::printf("scaled=%d\n", scale_total(INT_MAX / 2, argc + 2));
  {
    std::lock_guard s(stats);
    std::lock_guard c(config);
  }
  {
    std::lock_guard c(config);
    std::lock_guard s(stats);
  }
  std::printf("run: phase 3\n");
  pthread_t t;
  pthread_create(&t, nullptr, background, nullptr);
  usleep(20 * 1000);
  std::printf("total=%ld\nDONE\n", total);
}

// A signal handler overwrites errno, which the interrupted code may be about to read.
// Expect: WARNING: ThreadSanitizer: signal handler spoils errno; top frame on_alarm.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

void on_alarm(int) {
  errno = EBADF;
}

int main() {
  signal(SIGUSR2, on_alarm);
  pthread_t self = pthread_self();
  pthread_t killer;
  // Sent from another thread, so the signal arrives asynchronously, as a real one would.
  pthread_create(
      &killer, nullptr,
      [](void* target) -> void* {
        pthread_kill(*static_cast<pthread_t*>(target), SIGUSR2);
        return nullptr;
      },
      &self);
  pthread_join(killer, nullptr);
  usleep(1000);
  std::printf("DONE\n");
}

// A listener is destroyed while another thread still makes a virtual call on it: the
// destructor rewrites the vptr, the call reads it.
// Expect: WARNING: ThreadSanitizer: data race on vptr (ctor/dtor vs virtual call).
#include <semaphore.h>

#include <cstdio>
#include <thread>

struct Listener {
  Listener() { sem_init(&notified_, 0, 0); }
  virtual ~Listener() {
    // The vptr is already rewritten when this waits: the wait cannot order the virtual call
    // before that write.
    sem_wait(&notified_);
    sem_destroy(&notified_);
  }
  virtual void on_event() {}
  void notified() { sem_post(&notified_); }
  sem_t notified_;
};

struct LogListener : Listener {
  void on_event() override {}
};

Listener* listener = new LogListener;

__attribute__((noinline)) void dispatch_event() {
  listener->on_event();
  listener->notified();
}

int main() {
  std::thread dispatcher(dispatch_event);
  std::thread closer([] { delete listener; });
  dispatcher.join();
  closer.join();
  std::printf("DONE\n");
}

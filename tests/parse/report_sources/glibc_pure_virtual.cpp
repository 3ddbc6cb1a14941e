// A base destructor calls a virtual method through a helper: the object is already a Handler
// again, whose method is pure.
// Expect: pure virtual method called
#include <cstdio>

struct Handler;
void flush(Handler* h);

struct Handler {
  virtual ~Handler() { flush(this); }
  virtual void drain() = 0;
};

struct FileHandler : Handler {
  void drain() override {}
};

__attribute__((noinline)) void flush(Handler* h) {
  h->drain();
}

int main() {
  Handler* h = new FileHandler;
  delete h;
  std::printf("DONE\n");
}

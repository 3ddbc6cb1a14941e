// Two requests are built and dropped; each owns a second buffer (an indirect leak).
// Expect: ERROR: LeakSanitizer: detected memory leaks; 4 allocations; first user frame
// make_request.
#include <cstdio>

struct Request {
  char* body;
};

Request* volatile last;

__attribute__((noinline)) void make_request() {
  auto* r = new Request;
  r->body = new char[100];
  last = r;
}

int main() {
  make_request();
  make_request();
  last = nullptr;
  std::printf("DONE\n");
}

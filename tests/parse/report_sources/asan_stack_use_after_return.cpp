// A pointer to a local outlives its function. Needs ASAN_OPTIONS=detect_stack_use_after_return=1.
// Expect: ERROR: AddressSanitizer: stack-use-after-return; top frame use_reply.
#include <cstdio>

__attribute__((noinline)) int* make_reply() {
  int reply[4] = {1, 2, 3, 4};
  int* volatile escaped = reply;
  return escaped;
}

__attribute__((noinline)) int use_reply(int* reply) {
  return reply[2];
}

int main() {
  std::printf("%d\nDONE\n", use_reply(make_reply()));
}

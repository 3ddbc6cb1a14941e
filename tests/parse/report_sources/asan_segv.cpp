// A write through a null pointer.
// Expect: ERROR: AddressSanitizer: SEGV on unknown address; top frame store_reply.
#include <cstdio>

__attribute__((noinline)) void store_reply(int* slot) {
  *slot = 7;
}

int main(int argc, char**) {
  int* volatile slot = argc > 5 ? new int : nullptr;
  store_reply(slot);
  std::printf("%d\nDONE\n", *slot);
}

// free() of a stack address.
// Expect: ERROR: AddressSanitizer: attempting free on address which was not malloc()-ed.
#include <cstdio>
#include <cstdlib>

__attribute__((noinline)) void release_buffer(void* buffer) {
  std::free(buffer);
}

int main() {
  char local[16] = {};
  release_buffer(local);
  std::printf("DONE\n");
}

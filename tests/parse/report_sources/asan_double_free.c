/* A buffer is freed on the error path and again on the normal path.
 * Expect: ERROR: AddressSanitizer: attempting double-free; first user frame release_twice. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void release_twice(char* buffer) {
  free(buffer);
  free(buffer);
}

int main(void) {
  release_twice(malloc(32));
  printf("DONE\n");
  return 0;
}

/* A buffer is freed twice without a sanitizer: glibc's tcache check catches it.
 * Expect: free(): double free detected in tcache 2 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void release_twice(char* volatile buffer) {
  free(buffer);
  free(buffer);
}

int main(void) {
  release_twice(malloc(32));
  printf("DONE\n");
  return 0;
}

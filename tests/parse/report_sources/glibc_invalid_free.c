/* free() of a pointer into the middle of a block.
 * Expect: free(): invalid pointer */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char* volatile block = malloc(64);
  free(block + 8);
  printf("DONE\n");
  return 0;
}

/* A heap overflow tramples the size of the top chunk; the next malloc from the top notices.
 * Expect: malloc(): corrupted top size */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  (void)argv;
  /* volatile: the stores past the block must happen, they are the bug */
  volatile unsigned char* record = malloc(24);
  size_t len = 24 + 8 * (size_t)argc; /* BUG: one word past the block, into the top chunk */
  for (size_t i = 0; i < len; ++i) record[i] = 0xff;
  void* big = malloc(1000);
  printf("%p\nDONE\n", big);
  return 0;
}

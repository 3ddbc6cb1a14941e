/* A copy larger than its destination, caught by _FORTIFY_SOURCE.
 * Expect: *** buffer overflow detected ***: terminated */
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  (void)argv;
  char dest[8];
  char src[64];
  memset(src, 'x', sizeof src);
  memcpy(dest, src, 8 + (size_t)argc);
  printf("%c\nDONE\n", dest[0]);
  return 0;
}

/* A double free once the tcache bin is full: glibc's fastbin check catches it.
 * Expect: double free or corruption (fasttop) */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  void* fillers[7];
  for (int i = 0; i < 7; ++i) fillers[i] = malloc(24);
  void* volatile victim = malloc(24);
  for (int i = 0; i < 7; ++i) free(fillers[i]); /* the tcache bin holds 7 chunks */
  free(victim);
  free(victim);
  printf("DONE\n");
  return 0;
}

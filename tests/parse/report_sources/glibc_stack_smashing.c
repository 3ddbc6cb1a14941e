/* Writes past a stack buffer; built with -fstack-protector-all.
 * Expect: *** stack smashing detected ***: terminated */
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) void copy_name(const char* name, size_t len) {
  char buffer[8];
  memcpy(buffer, name, len);
  printf("%c\n", buffer[0]);
}

int main(int argc, char** argv) {
  (void)argv;
  char long_name[64];
  memset(long_name, 'x', sizeof long_name);
  copy_name(long_name, 32 + (size_t)argc);
  printf("DONE\n");
  return 0;
}

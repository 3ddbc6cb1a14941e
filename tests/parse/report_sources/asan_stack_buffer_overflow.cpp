// One element past the end of a stack array.
// Expect: ERROR: AddressSanitizer: stack-buffer-overflow; top frame fill_header.
#include <cstdio>

__attribute__((noinline)) int fill_header(int n) {
  int header[4];
  for (int i = 0; i <= n; ++i) header[i] = i;  // BUG: writes header[4] when n == 4
  return header[0];
}

int main(int argc, char**) {
  std::printf("%d\nDONE\n", fill_header(argc + 3));
}

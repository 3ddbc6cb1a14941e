// A buffer is read after it was deleted.
// Expect: ERROR: AddressSanitizer: heap-use-after-free; top frame read_after_release.
#include <cstdio>

__attribute__((noinline)) int read_after_release(int* buffer) {
  delete[] buffer;
  return buffer[1];
}

int main() {
  std::printf("%d\nDONE\n", read_after_release(new int[4]{1, 2, 3, 4}));
}

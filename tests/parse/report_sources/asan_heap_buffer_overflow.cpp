// One element past the end of a heap array.
// Expect: ERROR: AddressSanitizer: heap-buffer-overflow; top frame sum_window.
#include <cstdio>

__attribute__((noinline)) int sum_window(const int* values, int n) {
  int sum = 0;
  for (int i = 0; i <= n; ++i) sum += values[i];  // BUG: <= reads values[n]
  return sum;
}

int main() {
  int* values = new int[8]();
  std::printf("%d\nDONE\n", sum_window(values, 8));
  delete[] values;
}

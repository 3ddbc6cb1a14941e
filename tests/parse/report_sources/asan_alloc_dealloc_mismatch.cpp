// Memory from new[] released with delete.
// Expect: ERROR: AddressSanitizer: alloc-dealloc-mismatch (operator new [] vs operator delete).
#include <cstdio>

__attribute__((noinline)) void drop_batch(int* batch) {
  delete batch;
}  // BUG: new[] needs delete[]

int main() {
  drop_batch(new int[16]);
  std::printf("DONE\n");
}

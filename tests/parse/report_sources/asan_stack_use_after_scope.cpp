// A pointer to a block-scoped local is used after the block ends.
// Expect: ERROR: AddressSanitizer: stack-use-after-scope; top frame main.
#include <cstdio>

int main() {
  int* volatile kept;
  {
    int frame_count = 3;
    kept = &frame_count;
  }
  *kept = 4;
  std::printf("DONE\n");
}

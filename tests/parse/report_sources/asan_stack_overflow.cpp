// Unbounded recursion.
// Expect: ERROR: AddressSanitizer: stack-overflow; top frame walk_tree.
#include <cstdio>

// A 1 MiB frame per call keeps the printed stack (every frame down to the overflow) short.
__attribute__((noinline)) int walk_tree(int depth) {
  volatile char frame[1 << 20];
  frame[0] = static_cast<char>(depth);
  return walk_tree(depth + 1) + frame[0];
}

int main() {
  std::printf("%d\nDONE\n", walk_tree(0));
}

// A signed counter overflows. Built with -fno-sanitize-recover=all and run with
// UBSAN_OPTIONS=print_stacktrace=1: the first error is fatal and has a stack.
// Expect: runtime error: signed integer overflow; top frame add_credit.
#include <climits>
#include <cstdio>

__attribute__((noinline)) int add_credit(int balance, int credit) {
  return balance + credit;
}

int main(int argc, char**) {
  std::printf("%d\nDONE\n", add_credit(INT_MAX - 1, argc + 1));
}

// An invariant check fails.
// Expect: Assertion `balance >= 0' failed, in check_balance.
#include <cassert>
#include <cstdio>

__attribute__((noinline)) void check_balance(long balance) {
  assert(balance >= 0);
}

int main(int argc, char**) {
  check_balance(-argc);
  std::printf("DONE\n");
}

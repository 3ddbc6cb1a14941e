// transfer() takes accounts then ledger, audit() takes ledger then accounts: a deadlock waiting
// for the right interleaving. TSan reports the cycle even from one thread.
// Expect: WARNING: ThreadSanitizer: lock-order-inversion (potential deadlock).
#include <cstdio>
#include <mutex>

std::mutex accounts;
std::mutex ledger;

__attribute__((noinline)) void transfer() {
  std::lock_guard a(accounts);
  std::lock_guard l(ledger);
}

__attribute__((noinline)) void audit() {
  std::lock_guard l(ledger);
  std::lock_guard a(accounts);
}

int main() {
  transfer();
  audit();
  std::printf("DONE\n");
}

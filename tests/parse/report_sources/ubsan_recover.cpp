// Several kinds of undefined behaviour in one run that keeps going (the default, recoverable
// mode): UBSan reports each source location once.
// Expect: 2 signed-integer-overflow, 1 shift, 1 alignment, 1 bounds, 1 null, then DONE.
#include <climits>
#include <cstdio>
#include <cstring>

__attribute__((noinline)) int overflow_add(int a, int b) {
  return a + b;
}
__attribute__((noinline)) int overflow_mul(int a, int b) {
  return a * b;
}
__attribute__((noinline)) int shift_flags(int v, int by) {
  return v << by;
}
__attribute__((noinline)) int read_misaligned(const char* p) {
  return *reinterpret_cast<const int*>(p + 1);
}
__attribute__((noinline)) int read_slot(int i) {
  int slots[4] = {1, 2, 3, 4};
  return slots[i];
}
__attribute__((noinline)) bool bind_field(int* p) {
  int& field = *p;  // binding a reference to null is UB; nothing is loaded, so the run goes on
  return &field != nullptr;
}

int main(int argc, char**) {
  alignas(8) char raw[16];
  std::memset(raw, 0, sizeof raw);
  long sum = 0;
  for (int round = 0; round < 3; ++round) {  // repeats are reported once per location
    sum += overflow_add(INT_MAX, argc);
    sum += overflow_mul(INT_MAX / 2, argc + 2);
  }
  sum += shift_flags(1, 31 + argc);
  sum += read_misaligned(raw);
  sum += read_slot(argc + 3);
  int* missing = argc > 5 ? &argc : nullptr;
  sum += bind_field(missing);
  std::printf("sum=%ld\nDONE\n", sum);
}

// Reads past the end of a global table.
// Expect: ERROR: AddressSanitizer: global-buffer-overflow; top frame lookup_status.
#include <cstdio>

int status_table[4] = {200, 404, 500, 503};

__attribute__((noinline)) int lookup_status(int i) {
  return status_table[i];
}

int main(int argc, char**) {
  std::printf("%d\nDONE\n", lookup_status(argc + 3));
}

// A derived object deleted through a base without a virtual destructor: the sized delete gets
// the base's size. Clang needs -fsized-deallocation.
// Expect: ERROR: AddressSanitizer: new-delete-type-mismatch.
#include <cstdio>

struct Message {
  long id = 0;
};

struct BigMessage : Message {
  char payload[64] = {};
};

__attribute__((noinline)) void drop_message(Message* m) {
  delete m;
}

int main() {
  drop_message(new BigMessage);
  std::printf("DONE\n");
}

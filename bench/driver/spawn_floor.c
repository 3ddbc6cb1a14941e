/* The floor of any driver: a C program that starts a command with posix_spawn and waits for it,
 * nothing else (scripts/bench-vs-go.sh driver; docs/performance.md, section 3). What it adds to
 * the command's own time is what the second exec and the wait cost on this machine.
 *   spawn_floor PROGRAM [ARGS...]   exit status: the program's, 127 when it cannot start */
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv) {
  pid_t pid;
  int status = 0;
  if (argc < 2 || posix_spawn(&pid, argv[1], 0, 0, argv + 1, environ) != 0) return 127;
  if (waitpid(pid, &status, 0) < 0) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

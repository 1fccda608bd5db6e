/* pipe-size.c: ocirt-pipe-size BYTES makes the pipe on its fd 0 hold BYTES (F_SETPIPE_SZ). The size belongs to the
 * pipe, not to the descriptor, so a process that inherits the pipe as its stdin resizes it for the reader that
 * started it: the migration's unpacker (src/migrate/agent/unpack.ts) starts it beside its own start, where koffi
 * would take ~25 ms to load. Exit 0 when the pipe now holds at least BYTES, 1 otherwise (not a pipe, refused). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: ocirt-pipe-size BYTES\n");
    return 2;
  }
  char *end;
  long bytes = strtol(argv[1], &end, 10);
  if (*end || bytes <= 0) {
    fprintf(stderr, "ocirt-pipe-size: bad size %s\n", argv[1]);
    return 2;
  }
  return fcntl(0, F_SETPIPE_SZ, (int)bytes) >= bytes ? 0 : 1;
}

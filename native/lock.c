/* lock.c: `ocirt-init flock --fd N --timeout S`: takes an exclusive flock on an inherited descriptor and
 * exits. flock locks belong to the open file description, so the lock stays held by the ocirt process that
 * opened the file until it closes it or exits; this saves the runtime from loading an FFI library for one
 * system call on every mutating verb. Exit 0: locked; 1: timed out or failed (reason on stderr). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "init.h"

static void on_alarm(int sig)
{
  (void)sig; /* only interrupts the blocking flock */
}

int lock_main(int argc, char **argv)
{
  int fd = -1;
  long timeout = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--fd")) fd = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--timeout")) timeout = strtol(argv[i + 1], NULL, 10);
  }
  if (fd < 0) {
    fprintf(stderr, "usage: ocirt-init flock --fd N [--timeout SECONDS]\n");
    return 2;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
  if (errno != EWOULDBLOCK || timeout <= 0) {
    fprintf(stderr, "flock: %s\n", strerror(errno));
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_alarm};
  sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: the alarm must end the wait */
  alarm((unsigned)timeout);
  if (flock(fd, LOCK_EX) == 0) return 0;
  if (errno == EINTR) fprintf(stderr, "still locked after %ld s\n", timeout);
  else fprintf(stderr, "flock: %s\n", strerror(errno));
  return 1;
}

/* hooks.c: startContainer hooks. They run in the container, after `ocirt start` opened the exec fifo and
 * before execve: each is forked and exec'd with its own args and env, reads the state JSON on stdin, and is
 * killed when it outlives its timeout. A failing hook fails the start. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

#define STEP "startContainer hook"

/* Points vector[0..count-1] at count consecutive NUL-terminated strings; returns what follows them. */
static const char *split_strings(const char *s, uint32_t count, char **vector)
{
  for (uint32_t i = 0; i < count; i++, s += strlen(s) + 1) vector[i] = (char *)s;
  vector[count] = NULL;
  return s;
}

static _Noreturn void exec_hook(const struct plan_hook *h, int stdin_fd)
{
  static char *argv[PLAN_MAX_ARGS + 1], *envp[PLAN_MAX_ENV + 1];
  split_strings(split_strings(h->strings, h->nargs, argv), h->nenv, envp);
  if (dup2(stdin_fd, 0) < 0) _exit(127);
  execve(h->path, argv, envp);
  dprintf(2, "ocirt-init: %s: exec %s: %s\n", STEP, h->path, strerror(errno));
  _exit(127);
}

/* A hook may exit without reading stdin. The write's SIGPIPE is blocked and then discarded rather than
 * ignored, because an ignored disposition would be inherited by the container. */
static void write_state(int fd, const unsigned char *state, uint32_t len)
{
  sigset_t sigpipe, saved;
  struct timespec no_wait = {0, 0};
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  sigprocmask(SIG_BLOCK, &sigpipe, &saved);
  while (len > 0) {
    ssize_t n = write(fd, state, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break; /* EPIPE: the hook did not want it */
    state += n, len -= (uint32_t)n;
  }
  while (sigtimedwait(&sigpipe, NULL, &no_wait) > 0) {
  }
  sigprocmask(SIG_SETMASK, &saved, NULL);
}

/* Waits on a pidfd so the timeout needs no signal handler; returns 0 when the hook outlived it. */
static int wait_exit(pid_t pid, uint32_t timeout_s)
{
  if (!timeout_s) return 1;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) die(STEP, errno, "pidfd_open(%d)", pid);
  struct pollfd exited = {.fd = pidfd, .events = POLLIN};
  int timeout_ms = timeout_s > INT_MAX / 1000 ? INT_MAX : (int)timeout_s * 1000;
  int ready;
  while ((ready = poll(&exited, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  close(pidfd);
  if (ready < 0) die(STEP, errno, "poll");
  return ready;
}

static void run_hook(const struct plan_hook *h, const unsigned char *state, uint32_t state_len)
{
  int stdin_pipe[2], status;
  if (pipe2(stdin_pipe, O_CLOEXEC) < 0) die(STEP, errno, "pipe2");
  /* a pipe big enough for the whole state, so a hook that never reads cannot block us past its timeout */
  if (state_len > 65536) (void)fcntl(stdin_pipe[1], F_SETPIPE_SZ, (int)state_len);
  pid_t pid = fork();
  if (pid < 0) die(STEP, errno, "fork");
  if (pid == 0) exec_hook(h, stdin_pipe[0]);
  close(stdin_pipe[0]);
  write_state(stdin_pipe[1], state, state_len);
  close(stdin_pipe[1]);

  int finished = wait_exit(pid, h->timeout_s);
  if (!finished) kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die(STEP, errno, "waitpid(%d)", pid);
  if (!finished) die(STEP, ETIMEDOUT, "%s did not finish within %u s and was killed", h->path, h->timeout_s);
  if (WIFSIGNALED(status)) die(STEP, 0, "%s was killed by signal %d", h->path, WTERMSIG(status));
  if (WEXITSTATUS(status)) die(STEP, 0, "%s exited with status %d", h->path, WEXITSTATUS(status));
}

void hooks_run_start(const struct plan *p, const unsigned char *state, uint32_t state_len)
{
  for (uint32_t i = 0; i < p->n_hooks; i++) run_hook(&p->hooks[i], state, state_len);
}

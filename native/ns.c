/* ns.c: stage0's work: limits, joining namespaces, cloning stage1 into new ones, and (foreground) waiting
 * for it to mirror its exit status. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

int write_file(const char *path, const char *value)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(value);
  ssize_t n = write(fd, value, len);
  int saved = n < 0 ? errno : EIO;
  close(fd);
  if (n == (ssize_t)len) return 0;
  errno = saved;
  return -1;
}

void ns_set_rlimits(const struct plan *p)
{
  for (uint32_t i = 0; i < p->n_rlimits; i++) {
    const struct plan_rlimit *r = &p->rlimits[i];
    struct rlimit limit = {.rlim_cur = r->soft, .rlim_max = r->hard};
    if (setrlimit((__rlimit_resource_t)r->resource, &limit) < 0)
      die("setrlimit", errno, "resource %u: soft %llu, hard %llu", r->resource, (unsigned long long)r->soft,
          (unsigned long long)r->hard);
  }
}

/* Writing 0 to cgroup.procs moves the writer; the clone then starts the container inside these cgroups
 * (which a new cgroup namespace takes as its root). */
void ns_join_cgroups(const struct plan *p)
{
  for (uint32_t i = 0; i < p->n_cgroup_procs; i++)
    if (write_file(p->cgroup_procs[i], "0") < 0) die("join cgroup", errno, "writing to %s", p->cgroup_procs[i]);
}

/* CGROUP_LEAVE: where a foreground stage0 goes back to after the clone (the cgroups it started in). Best
 * effort: a rootless caller may not be allowed to write its own session's cgroup, and staying is harmless
 * enough not to abandon the container it is waiting for. */
void ns_leave_cgroups(const struct plan *p)
{
  for (uint32_t i = 0; i < p->n_cgroup_leave; i++) (void)write_file(p->cgroup_leave[i], "0");
}

void ns_write_oom_score_adj(const struct plan *p)
{
  if (p->oom_score_adj && write_file("/proc/self/oom_score_adj", p->oom_score_adj) < 0)
    die("oom_score_adj", errno, "writing %s to /proc/self/oom_score_adj", p->oom_score_adj);
}

static const char *ns_name(uint32_t nstype)
{
  switch (nstype) {
  case CLONE_NEWUSER: return "user";
  case CLONE_NEWNS: return "mnt";
  case CLONE_NEWPID: return "pid";
  case CLONE_NEWNET: return "net";
  case CLONE_NEWIPC: return "ipc";
  case CLONE_NEWUTS: return "uts";
  case CLONE_NEWCGROUP: return "cgroup";
  case CLONE_NEWTIME: return "time";
  default: return "?";
  }
}

void ns_join(const struct plan *p)
{
  int fds[PLAN_MAX_NS_JOINS];
  char step[32];
  /* Open every path first: once in the container's mount namespace, host paths such as /proc/PID/ns/net
   * would resolve inside it. */
  for (uint32_t i = 0; i < p->n_ns_joins; i++) {
    const struct plan_ns_join *j = &p->ns_joins[i];
    snprintf(step, sizeof step, "setns %s", ns_name(j->nstype));
    fds[i] = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) die(step, errno, "open %s", j->path);
  }
  for (uint32_t i = 0; i < p->n_ns_joins; i++) {
    const struct plan_ns_join *j = &p->ns_joins[i];
    snprintf(step, sizeof step, "setns %s", ns_name(j->nstype));
    if (setns(fds[i], (int)j->nstype) < 0) die(step, errno, "%s", j->path);
    close(fds[i]);
  }
}

/* CLONE_NEWTIME's bit is in clone(2)'s exit-signal byte, so a time namespace is made with unshare: it
 * applies to the children made afterwards, and its offsets can only be written before the first one. */
void ns_unshare_time(const struct plan *p)
{
  if (!(p->clone_flags & CLONE_NEWTIME)) return;
  if (unshare(CLONE_NEWTIME) < 0) die("unshare time", errno, "unshare(CLONE_NEWTIME)");
  if (p->timens_offsets && write_file("/proc/self/timens_offsets", p->timens_offsets) < 0)
    die("timens_offsets", errno, "writing \"%s\" to /proc/self/timens_offsets", p->timens_offsets);
}

/* Like fork(), but into new namespaces: with a NULL stack the child runs on a copy of ours. With CLONE_PARENT
 * stage1 becomes a child of ocirt itself, and then of the engine's subreaper once ocirt exits. */
pid_t ns_clone_stage1(const struct plan *p)
{
  unsigned long flags = (unsigned long)(p->clone_flags & ~(uint64_t)CLONE_NEWTIME) | SIGCHLD;
  if (p->detach) flags |= CLONE_PARENT;
  long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid < 0) die("clone", errno, "clone(%#lx)", flags);
  return (pid_t)pid;
}

/* Foreground mode: stage0 exists only to hand stage1's status to ocirt. Signals are blocked because ocirt
 * forwards them to stage1 itself, and a terminal's ^C (sent to ocirt's whole process group) must not kill
 * the messenger. Blocked after the clone, so stage1 and the container do not inherit the mask. */
_Noreturn void ns_wait_and_mirror(pid_t child)
{
  sigset_t all;
  int status;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) die("wait", errno, "waitpid(%d)", child);
  if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
  _exit(WEXITSTATUS(status));
}

/* seccomp.c: no_new_privs and the seccomp filter ocirt compiled. The helper only loads the BPF program;
 * with SECCOMP_FILTER_FLAG_NEW_LISTENER it announces the listener fd (by number, for ocirt to take with
 * pidfd_getfd) and keeps it open until ocirt acknowledges. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

void seccomp_set_no_new_privs(const struct plan *p)
{
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die("no_new_privs", errno, "prctl(PR_SET_NO_NEW_PRIVS)");
}

void seccomp_load(const struct plan *p)
{
  if (!plan_has(p, ATTR_SECCOMP)) return;
  if (p->seccomp_len > BPF_MAXINSNS)
    die("seccomp", EINVAL, "the filter has %u instructions, more than %d", p->seccomp_len, BPF_MAXINSNS);
  struct sock_fprog program = {
    .len = (unsigned short)p->seccomp_len,
    .filter = (struct sock_filter *)p->seccomp_bpf, /* the kernel copies it; alignment does not matter */
  };
  int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &program);
  if (fd < 0)
    die("seccomp", errno, "load the filter (%u instructions, flags %#x)", p->seccomp_len, p->seccomp_flags);
  if (!(p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) return;
  chan_send_u32(FRAME_SECCOMP_FD, (uint32_t)fd);
  chan_expect(FRAME_ACK);
  close(fd);
}

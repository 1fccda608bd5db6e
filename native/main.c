/* main.c: ocirt-init, the C helper of ocirt. TypeScript decides everything and sends it as a plan; this
 * program carries the plan out with syscalls, in this order (docs/init-protocol.md has the details):
 *
 *  ocirt (TS)                             ocirt-init stage0                stage1 = the container process
 *  spawn the helper
 *  PLAN ────────────────────────────────► decode; join the container's
 *                                         cgroups (CGROUP_PROCS); rlimits;
 *                                         oom_score_adj;
 *                                         mkfifo + open O_PATH; connect
 *                                         the console socket; setns joins
 *                                         (plan order); unshare(NEWTIME);
 *                                         clone(CLONE_NEW* [| CLONE_PARENT]) ─► waits for GO
 *  ◄──────────────────────────────── PID(u32 stage1 pid)
 *                                         detach: exit 0
 *                                         else: back to its own cgroups
 *                                         (CGROUP_LEAVE), wait for stage1, exit with
 *                                         its code (128+signal if killed)
 *  write uid_map/gid_map
 *  GO ───────────────────────────────────────────────────────────────────► setsid; [new userns: become its
 *                                                                          root]; hostname; domainname;
 *                                                                          keyring; (init:) root propagation;
 *                                                                          rootfs parent private; bind rootfs;
 *                                                                          MOUNT, DEVICE, SYMLINK steps
 *  ◄─────────────────────────────────────────────────────────────────────── HOOKS             (init only)
 *  prestart, createRuntime, createContainer hooks
 *  HOOKS_DONE(state JSON) ───────────────────────────────────────────────► rootfs private; pivot_root (or
 *                                                                          MS_MOVE + chroot); propagation;
 *                                                                          SYSCTL; READONLY; MASK;
 *                                                                          ROOT_READONLY; terminal
 *  ◄───────────────────────────────────────────────── CONSOLE(u32 fd)  (terminal, no console socket)
 *  ACK ──────────────────────────────────────────────────────────────────► personality; umask; cwd; fds
 *                                                                          from 3+n CLOEXEC; [final CPU affinity;
 *                                                                          scheduler; I/O priority]; [seccomp when
 *                                                                          no no_new_privs]; ids and caps;
 *                                                                          [no_new_privs; seccomp]
 *  ◄───────────────────────────────────────────────── SECCOMP_FD(u32 fd)  (NEW_LISTENER filter only)
 *  ACK ──────────────────────────────────────────────────────────────────► look up argv[0] on PATH
 *  ◄─────────────────────────────────────────────────────────────────────── READY
 *  create: save the state, exit                                            (init:) open the exec fifo
 *  start: read the exec fifo ────────────────────────────────────────────►   O_WRONLY, write "0";
 *                                                                            startContainer hooks
 *                                                                          execve
 *  at any point ◄── LOG(level, text)    ◄── ERROR(errno, step, message), then the helper exits 1
 *
 * Usage: ocirt-init init --sync-fd N | ocirt-init --decode-plan < plan | ocirt-init --version
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

static struct plan plan;

/* CVE-2019-5736: a container process can open /proc/PID/exe of a runtime process that joined it and write
 * through it to the runtime's binary on the host. A sealed memfd copy leaves nothing writable to reach. */
static void reexec_from_sealed_memfd(char **argv)
{
  struct stat st;
  int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) die("reexec", errno, "open /proc/self/exe");
  int seals = fcntl(exe, F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE)) {
    close(exe);
    return;
  }
  /* MFD_EXEC (Linux 6.3) keeps vm.memfd_noexec from refusing the execve; older kernels reject the flag. */
  int copy = memfd_create("ocirt-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (copy < 0 && errno == EINVAL) copy = memfd_create("ocirt-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (copy < 0) die("reexec", errno, "memfd_create");
  if (fstat(exe, &st) < 0) die("reexec", errno, "fstat /proc/self/exe");
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = sendfile(copy, exe, NULL, (size_t)left);
    if (n <= 0) die("reexec", n < 0 ? errno : EIO, "copy /proc/self/exe");
    left -= n;
  }
  if (fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    die("reexec", errno, "seal the copy");
  close(exe);
  fexecve(copy, argv, environ);
  die("reexec", errno, "fexecve the sealed copy");
}

static void apply_process_settings(void)
{
  if (plan_has(&plan, ATTR_PERSONALITY) && personality(plan.personality) < 0)
    die("personality", errno, "personality(%#x)", plan.personality);
  if (plan_has(&plan, ATTR_UMASK)) umask((mode_t)plan.umask);
}

/* Loading a filter needs CAP_SYS_ADMIN unless no_new_privs is set: without it the filter goes in before the
 * identity change; with it, as late as possible, so that the filter has to allow as little as possible. */
static void set_identity_and_seccomp(void)
{
  if (!plan.no_new_privs) seccomp_load(&plan);
  caps_set_identity(&plan);
  if (plan.no_new_privs) {
    seccomp_set_no_new_privs(&plan);
    seccomp_load(&plan);
  }
}

/* Until execve, stage1 is the pid 1 of its namespace with default dispositions, and a pid 1 ignores every
 * signal it has no handler for: `kill c TERM` of a created container would do nothing (podman stop would
 * wait out its timeout). These handlers make it exit; execve resets them to the defaults. */
static void exit_on_signal(int sig)
{
  _exit(128 + sig);
}

static void exit_on_termination_signals(void)
{
  static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
  struct sigaction sa = {.sa_handler = exit_on_signal};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

static _Noreturn void stage1(int fifo, int console_socket)
{
  unsigned char *state = NULL;
  uint32_t state_len = 0;
  exit_on_termination_signals();
  chan_expect(FRAME_GO);
  if (setsid() < 0) die("setsid", errno, "setsid");
  caps_become_userns_root(&plan);
  net_loopback_up(&plan);
  exec_set_names(&plan);
  exec_join_session_keyring(&plan);
  if (plan.mode == PLAN_MODE_INIT) {
    mount_prepare_rootfs(&plan);
    mount_run_steps(&plan);
    if (chan_send(FRAME_HOOKS, NULL, 0) < 0) die("sync", errno, "sending HOOKS");
    state = chan_recv(FRAME_HOOKS_DONE, &state_len);
    rootfs_enter(&plan);
    mount_write_sysctls(&plan); /* before READONLY makes /proc/sys read-only */
    rootfs_readonly_paths(&plan);
    rootfs_mask_paths(&plan);
    rootfs_readonly_root(&plan);
  }
  console_setup(&plan, console_socket);
  apply_process_settings();
  exec_chdir(&plan, 0);
  exec_mark_cloexec(&plan);
  sched_apply(&plan);
  set_identity_and_seccomp();
  exec_chdir(&plan, 1);
  const char *path = exec_lookup(&plan);
  if (chan_send(FRAME_READY, NULL, 0) < 0) die("sync", errno, "sending READY");
  int started = fifo >= 0 ? exec_fifo_wait(fifo) : -1;
  hooks_run_start(&plan, state, state_len);
  exec_fifo_confirm(started);
  exec_container(&plan, path);
}

static int joins_mount_ns(const struct plan *p)
{
  for (uint32_t i = 0; i < p->n_ns_joins; i++)
    if (p->ns_joins[i].nstype == CLONE_NEWNS) return 1;
  return 0;
}

static _Noreturn void run_plan(void)
{
  uint32_t len;
  unsigned char *buf = chan_recv(FRAME_PLAN, &len);
  const char *err = plan_decode(&plan, buf, len, NULL);
  if (err) die("plan", EINVAL, "%s", err);
  if (plan.mode != PLAN_MODE_INIT && plan.mode != PLAN_MODE_EXEC) die("plan", EINVAL, "bad MODE %u", plan.mode);
  if (plan.mode == PLAN_MODE_INIT && !plan.rootfs) die("plan", EINVAL, "an init plan needs ROOTFS");
  /* Every mount step, the propagation change of "/" and pivot_root would otherwise hit the host's own mount
   * namespace. TypeScript refuses such configs; this is the last guard. */
  if (plan.mode == PLAN_MODE_INIT && !(plan.clone_flags & CLONE_NEWNS) && !joins_mount_ns(&plan))
    die("plan", EINVAL, "an init plan needs a new or joined mount namespace");

  /* Order matters: the cgroups first (cgroupfs checks permissions in the host's user namespace, before any
   * setns), then the rlimits (inherited by the clone), the fifo and console socket on host paths, and only
   * then the namespace joins, after which host paths may be out of reach. */

  sched_initial_affinity(&plan);
  ns_join_cgroups(&plan);
  ns_set_rlimits(&plan);
  ns_write_oom_score_adj(&plan);
  int fifo = exec_fifo_create(&plan);
  int console_socket = console_socket_connect(&plan);
  ns_join(&plan);
  ns_unshare_time(&plan);
  pid_t pid = ns_clone_stage1(&plan);
  if (pid == 0) stage1(fifo, console_socket);

  chan_send_u32(FRAME_PID, (uint32_t)pid);
  if (plan.detach) _exit(0);
  chan_close();
  ns_leave_cgroups(&plan); /* a foreground stage0 must not count as one of the container's processes */
  ns_wait_and_mirror(pid);
}

static int parse_fd(const char *s)
{
  char *end;
  errno = 0;
  long fd = strtol(s, &end, 10);
  return errno || *end || end == s || fd < 3 || fd > 65535 ? -1 : (int)fd;
}

int main(int argc, char **argv)
{
  if (argc == 2 && !strcmp(argv[1], "--version")) {
    printf("ocirt-init %s\n", OCIRT_VERSION);
    return 0;
  }
  if (argc == 2 && !strcmp(argv[1], "--decode-plan")) return plan_print_stdin();
  int sync_fd = argc == 4 && !strcmp(argv[1], "init") && !strcmp(argv[2], "--sync-fd") ? parse_fd(argv[3]) : -1;
  if (sync_fd < 0) {
    fprintf(stderr, "usage: ocirt-init init --sync-fd N | --decode-plan | --version\n");
    return 2;
  }
  chan_init(sync_fd);
  /* What the caller left open above the sync fd is neither the container's nor ours: it must not survive
   * the re-exec, a hook's exec or the container's. */
  if (close_range((unsigned)sync_fd + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0) die("close_range", errno, "above the sync fd");
  reexec_from_sealed_memfd(argv);
  if (fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0) die("sync", errno, "mark the sync fd close-on-exec");
  run_plan();
}

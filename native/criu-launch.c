/* criu-launch.c: how ocirt starts `criu restore` (src/core/criu/client.ts runCriu), in one process that becomes
 * criu: the restored tree must be born in the container's cgroups, and CRIU's --root must be the rootfs bound in
 * a mount namespace of criu's own (so the bind ends with criu, whatever happens to ocirt). It replaces
 * `unshare --mount --propagation private /bin/sh -c '...; mount --rbind ...; mount -o remount,bind,ro ...; exec
 * criu'`, four or five execs, and keeps that chain's exit codes, so runCriu tells the failures apart the same way:
 *
 *   ocirt-criu-launch [--join CGROUP_PROCS]... [--root ROOTFS TARGET [--ro]] [--tmpfs DIR MODE NAMES]...
 *                     [--tmpfs-rw DIR MODE OPTIONS NAMES]... [--tmpfs-char DIR NAME MODE MAJOR MINOR]...
 *                     [--tmpfs-link DIR NAME TARGET]... -- CRIU [ARG]...
 *
 *   --join     writes its own pid to the file (the pid that then execs criu)       failure: exit 125
 *   --root     unshare(CLONE_NEWNS), "/" made private recursively, ROOTFS bound
 *              recursively at TARGET, remounted read-only with --ro                 failure: exit 124
 *   --tmpfs    (in that same new mount namespace) a tmpfs at DIR whose root has
 *              the octal MODE and holds the directories NAMES ('/'-separated,
 *              mode 0755), then made read-only: what CRIU binds in place of a
 *              tmpfs dumped as a skeleton (src/core/criu/tmpfs-skeleton.ts); at
 *              most 64                                                           failure: exit 124
 *   --tmpfs-rw the same, left writable, mounted with the tmpfs OPTIONS too (comma-
 *              separated, e.g. size=65536k; may be empty): a writable tmpfs that was
 *              empty at dump time (/dev/shm)                                     failure: exit 124
 *   --tmpfs-char  in the tmpfs built at DIR, a character device NAME with the
 *              octal MODE (whatever the umask) and MAJOR:MINOR                  failure: exit 124
 *   --tmpfs-link  in the tmpfs built at DIR, a symlink NAME to TARGET (a /dev's
 *              fd, stdin, ptmx...)                                               failure: exit 124
 *   then       execvp(CRIU, ARGs)                                                    failure: exit 127
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

enum { JOIN_FAILED = 125, ROOT_FAILED = 124, EXEC_FAILED = 127, USAGE = 2 };

static _Noreturn void fail(int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("ocirt-criu-launch: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(code);
}

static void join(const char *procs)
{
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(JOIN_FAILED, "cannot open %s: %s", procs, strerror(errno));
  if (write(fd, pid, (size_t)n) != n) fail(JOIN_FAILED, "cannot write to %s: %s", procs, strerror(errno));
  close(fd);
}

/* The flags of the bind that a read-only remount must keep (mount(8) keeps them too): only "ro" changes. */
static unsigned long kept_flags(const char *target)
{
  static const struct { unsigned long st, ms; } map[] = {
    {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC}, {ST_NOATIME, MS_NOATIME},
    {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}, {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
  };
  struct statvfs sv;
  if (statvfs(target, &sv) < 0) fail(ROOT_FAILED, "statvfs %s: %s", target, strerror(errno));
  unsigned long flags = 0;
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (sv.f_flag & map[i].st) flags |= map[i].ms;
  return flags;
}

static void bind_root(const char *rootfs, const char *target, int ro)
{
  if (mount(rootfs, target, NULL, MS_BIND | MS_REC, NULL) < 0)
    fail(ROOT_FAILED, "mount --rbind %s %s: %s", rootfs, target, strerror(errno));
  if (ro && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(target), NULL) < 0)
    fail(ROOT_FAILED, "remount %s read-only: %s", target, strerror(errno));
}

/* A tmpfs at dir with the root's mode (and the tmpfs options given) and empty directories, made read-only (the
 * superblock) once they are made unless it is to stay writable. No other flag: CRIU applies the dumped mount's flags
 * to its bind of it. */
enum { MAX_NODES = 256 };

/* A device node or symlink to make in a tmpfs built at dir (NULL target: a character device). */
static struct node {
  const char *dir, *name, *target;
  unsigned long mode, major, minor;
} nodes[MAX_NODES];
static int n_nodes;

static unsigned long number(const char *what, const char *text, int base, unsigned long max)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul(text, &end, base);
  if (*text == '\0' || *end != '\0' || errno || v > max) fail(USAGE, "bad %s %s", what, text);
  return v;
}

static int plain_node_name(const char *name)
{
  return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static void make_nodes(int dfd, const char *dir)
{
  for (int i = 0; i < n_nodes; i++) {
    const struct node *n = &nodes[i];
    if (strcmp(n->dir, dir) != 0) continue;
    if (n->target) {
      if (symlinkat(n->target, dfd, n->name) < 0) fail(ROOT_FAILED, "symlink %s/%s: %s", dir, n->name, strerror(errno));
    } else if (mknodat(dfd, n->name, S_IFCHR | (mode_t)n->mode, makedev(n->major, n->minor)) < 0 ||
               fchmodat(dfd, n->name, (mode_t)n->mode, 0) < 0) {
      fail(ROOT_FAILED, "mknod %s/%s: %s", dir, n->name, strerror(errno));
    }
  }
}

static void build_tmpfs(const char *dir, const char *mode, const char *options, char *names, int writable)
{
  char data[256];
  char *end;
  unsigned long m = strtoul(mode, &end, 8);
  if (*mode == '\0' || *end != '\0' || m > 07777) fail(USAGE, "%s %s: bad mode %s", writable ? "--tmpfs-rw" : "--tmpfs", dir, mode);
  int n = snprintf(data, sizeof data, "mode=%lo%s%s", m, *options ? "," : "", options);
  if (n < 0 || (size_t)n >= sizeof data) fail(USAGE, "--tmpfs-rw %s: options too long", dir);
  unsigned long flags = 0;
  if (mount("tmpfs", dir, "tmpfs", flags, data) < 0) fail(ROOT_FAILED, "mount tmpfs at %s: %s", dir, strerror(errno));
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail(ROOT_FAILED, "open %s: %s", dir, strerror(errno));
  for (char *save = NULL, *name = strtok_r(names, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) fail(USAGE, "--tmpfs %s: bad name %s", dir, name);
    /* fchmodat: the mode whatever the umask */
    if (mkdirat(dfd, name, 0755) < 0 || fchmodat(dfd, name, 0755, 0) < 0)
      fail(ROOT_FAILED, "mkdir %s/%s: %s", dir, name, strerror(errno));
  }
  make_nodes(dfd, dir);
  close(dfd);
  if (writable) return;
  if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | flags, data) < 0)
    fail(ROOT_FAILED, "remount %s read-only: %s", dir, strerror(errno));
}

static void new_mount_ns(void)
{
  if (unshare(CLONE_NEWNS) < 0) fail(ROOT_FAILED, "unshare(CLONE_NEWNS): %s", strerror(errno));
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail(ROOT_FAILED, "make / private: %s", strerror(errno));
}

enum { MAX_TMPFS = 64 };

int main(int argc, char **argv)
{
  const char *rootfs = NULL, *target = NULL;
  struct { const char *dir, *mode, *options; char *names; int writable; } tmpfs[MAX_TMPFS];
  int ro = 0, i = 1, n_tmpfs = 0;
  /* joins happen in order as they are met, before the mount namespace: as the shell chain did */
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--join") == 0 && i + 1 < argc) {
      join(argv[++i]);
    } else if (strcmp(argv[i], "--root") == 0 && i + 2 < argc) {
      rootfs = argv[++i];
      target = argv[++i];
    } else if (strcmp(argv[i], "--ro") == 0) {
      ro = 1;
    } else if (strcmp(argv[i], "--tmpfs") == 0 && i + 3 < argc && n_tmpfs < MAX_TMPFS) {
      tmpfs[n_tmpfs].dir = argv[++i];
      tmpfs[n_tmpfs].mode = argv[++i];
      tmpfs[n_tmpfs].options = "";
      tmpfs[n_tmpfs].writable = 0;
      tmpfs[n_tmpfs++].names = argv[++i];
    } else if (strcmp(argv[i], "--tmpfs-char") == 0 && i + 5 < argc && n_nodes < MAX_NODES) {
      struct node *n = &nodes[n_nodes++];
      n->dir = argv[++i];
      n->name = argv[++i];
      n->target = NULL;
      n->mode = number("mode", argv[++i], 8, 0777); /* no set-id or sticky bit on a device node */
      n->major = number("major", argv[++i], 10, 0xfffff);
      n->minor = number("minor", argv[++i], 10, 0xfffff);
      if (!plain_node_name(n->name)) fail(USAGE, "--tmpfs-char: bad name %s", n->name);
    } else if (strcmp(argv[i], "--tmpfs-link") == 0 && i + 3 < argc && n_nodes < MAX_NODES) {
      struct node *n = &nodes[n_nodes++];
      n->dir = argv[++i];
      n->name = argv[++i];
      n->target = argv[++i];
      if (!plain_node_name(n->name) || !*n->target) fail(USAGE, "--tmpfs-link: bad name %s or target", n->name);
    } else if (strcmp(argv[i], "--tmpfs-rw") == 0 && i + 4 < argc && n_tmpfs < MAX_TMPFS) {
      tmpfs[n_tmpfs].dir = argv[++i];
      tmpfs[n_tmpfs].mode = argv[++i];
      tmpfs[n_tmpfs].options = argv[++i];
      tmpfs[n_tmpfs].writable = 1;
      tmpfs[n_tmpfs++].names = argv[++i];
    } else {
      fail(USAGE, "usage: ocirt-criu-launch [--join CGROUP_PROCS]... [--root ROOTFS TARGET [--ro]] [--tmpfs DIR MODE NAMES]... [--tmpfs-rw DIR MODE OPTIONS NAMES]... [--tmpfs-char DIR NAME MODE MAJOR MINOR]... [--tmpfs-link DIR NAME TARGET]... -- CRIU [ARG]...");
    }
  }
  if (i + 1 >= argc) fail(USAGE, "no criu command after --");
  for (int k = 0; k < n_nodes; k++) {
    int found = 0;
    for (int t = 0; t < n_tmpfs && !found; t++) found = strcmp(nodes[k].dir, tmpfs[t].dir) == 0;
    if (!found) fail(USAGE, "%s: no --tmpfs or --tmpfs-rw for its directory %s", nodes[k].name, nodes[k].dir);
  }
  if (rootfs || n_tmpfs) new_mount_ns();
  if (rootfs) bind_root(rootfs, target, ro);
  for (int t = 0; t < n_tmpfs; t++) build_tmpfs(tmpfs[t].dir, tmpfs[t].mode, tmpfs[t].options, tmpfs[t].names, tmpfs[t].writable);
  execvp(argv[i + 1], argv + i + 1);
  fail(EXEC_FAILED, "cannot run %s: %s", argv[i + 1], strerror(errno));
}

/* mount.c: the rootfs before pivot_root: root propagation, the rootfs bind, MOUNT, DEVICE and SYMLINK steps;
 * and the sysctl writes after it.
 *
 * Every in-container path is resolved with openat2(RESOLVE_IN_ROOT) from an fd of the rootfs, so a symlink in
 * the image (`evil -> ../../../etc`) resolves inside the rootfs, never on the host. Mounts are made on the
 * resolved fd through /proc/self/fd/N, so nothing can swap the path between resolution and mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init.h"

static int rootfd = -1;

static int open_in_root(const char *path, int flags)
{
  struct open_how how = {
    .flags = (uint64_t)(flags | O_PATH | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

static const char *fd_path(int fd)
{
  static char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  return path;
}

/* Creates one missing component under parent: the last one as a file when asked, else a directory. */
static int create_component(int parent, const char *name, int as_file)
{
  if (!as_file) return mkdirat(parent, name, 0755) < 0 && errno != EEXIST ? -1 : 0;
  int fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return errno == EEXIST ? 0 : -1;
  return close(fd);
}

#define WALK_AGAIN (-2)
#define MAX_SYMLINKS 40

/* The walk met a dangling symlink: splice its target into path in place of the component (relative targets
 * stay relative to the symlink's directory), so the walk creates what the link points to, as runc does for
 * an image's /etc/resolv.conf -> ../run/... Every later open is RESOLVE_IN_ROOT, so ".." cannot escape. */
static int splice_symlink(int parent, char *path, char *name, const char *rest)
{
  char target[PATH_MAX], joined[PATH_MAX];
  ssize_t n = readlinkat(parent, name, target, sizeof target - 1);
  if (n < 0) return errno = ENOENT, -1; /* not a symlink: it vanished */
  target[n] = 0;
  *name = 0; /* path is now the symlink's directory, with its trailing slash */
  int len = snprintf(joined, sizeof joined, "%s%s%s", target[0] == '/' ? "" : path, target, rest);
  if (len < 0 || (size_t)len >= sizeof joined) return errno = ENAMETOOLONG, -1;
  strcpy(path, joined);
  return WALK_AGAIN;
}

/* Walks path one component at a time from the rootfs, creating what is missing under the resolved fd of
 * its parent. Returns the fd of path, -1, or WALK_AGAIN after splicing a symlink into path. */
static int create_walk(char *path, uint32_t mkflags)
{
  int parent = rootfd, fd = -1;
  for (char *name = path + strspn(path, "/"); *name; name += strspn(name, "/")) {
    char *end = name + strcspn(name, "/");
    char saved = *end;
    int last = !end[strspn(end, "/")];
    *end = 0;
    fd = open_in_root(path, 0);
    if (fd < 0 && errno == ENOENT && create_component(parent, name, last && (mkflags & MOUNT_MK_FILE)) == 0) {
      fd = open_in_root(path, 0);
      if (fd < 0 && errno == ENOENT) {
        char rest[PATH_MAX] = "";
        if (saved) rest[0] = saved, strcpy(rest + 1, end + 1);
        fd = splice_symlink(parent, path, name, rest);
      }
    }
    if (parent != rootfd) close(parent);
    if (fd < 0) return fd;
    parent = fd;
    *end = saved;
    name = end;
  }
  return parent == rootfd ? open_in_root("/", 0) : parent;
}

/* Resolves path in the rootfs, creating it when missing and mkflags allow (MOUNT_MK_DIR, MOUNT_MK_FILE). */
static int open_or_create(const char *path, uint32_t mkflags)
{
  char walked[PATH_MAX];
  int fd = open_in_root(path, 0);
  if (fd >= 0 || errno != ENOENT || !(mkflags & (MOUNT_MK_DIR | MOUNT_MK_FILE))) return fd;
  if (strlen(path) >= sizeof walked) return errno = ENAMETOOLONG, -1;
  strcpy(walked, path);
  for (int links = 0; links < MAX_SYMLINKS; links++)
    if ((fd = create_walk(walked, mkflags)) != WALK_AGAIN) return fd;
  return errno = ELOOP, -1;
}

/* Opens the directory of an in-container path (creating it) and points *name at the last component. */
static int open_parent(const char *path, char *buf, size_t size, const char **name)
{
  if (strlen(path) >= size) return errno = ENAMETOOLONG, -1;
  strcpy(buf, path);
  char *slash = strrchr(buf, '/');
  if (!slash) return *name = buf, open_in_root("/", 0);
  *name = slash + 1;
  if (slash == buf) return open_in_root("/", 0);
  *slash = 0;
  return open_or_create(buf, MOUNT_MK_DIR);
}

/* Remounting a bind mount in a user namespace fails with EPERM unless it repeats the flags the kernel
 * locked from the more privileged source mount (nosuid, nodev, noexec, atime). */
void remount_bind(const char *path, const char *what, uint64_t flags)
{
  if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0) return;
  struct statvfs st; /* ST_* and MS_* flags share their values */
  if (errno == EPERM && statvfs(path, &st) == 0) {
    flags |= st.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC);
    if (!(flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)))
      flags |= st.f_flag & (ST_NOATIME | ST_RELATIME) ? st.f_flag & (ST_NOATIME | ST_NODIRATIME | ST_RELATIME)
                                                      : MS_STRICTATIME;
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0) return;
  }
  die("remount", errno, "remount %s with flags %#llx", what, (unsigned long long)flags);
}

/* pivot_root and MS_MOVE refuse a rootfs whose parent mount is shared, and a shared parent would also
 * propagate the rootfs bind back to the host: find the mount holding the rootfs and make it private. */
static void make_parent_mount_private(const char *rootfs)
{
  char path[PATH_MAX];
  struct statx st;
  if (!realpath(rootfs, path)) die("rootfs", errno, "realpath %s", rootfs);
  for (;;) {
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &st) < 0) die("rootfs", errno, "statx %s", path);
    if ((st.stx_attributes & STATX_ATTR_MOUNT_ROOT) || !strcmp(path, "/")) break;
    char *slash = strrchr(path, '/');
    if (slash == path) slash++; /* keep "/" */
    *slash = 0;
  }
  if (mount(NULL, path, NULL, MS_PRIVATE, NULL) < 0) die("rootfs", errno, "make %s private", path);
}

void mount_prepare_rootfs(const struct plan *p)
{
  if (p->propagation_pre && mount(NULL, "/", NULL, p->propagation_pre, NULL) < 0)
    die("mount /", errno, "set root propagation %#llx", (unsigned long long)p->propagation_pre);
  make_parent_mount_private(p->rootfs);
  if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    die("rootfs", errno, "bind %s onto itself", p->rootfs);
  rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("rootfs", errno, "open %s", p->rootfs);
}

static void run_mount(const struct plan_mount *m)
{
  char step[64];
  snprintf(step, sizeof step, "mount %s", m->target);
  int fd = open_or_create(m->target, m->mkflags);
  if (fd < 0) die(step, errno, "resolve %s in the rootfs", m->target);
  if (mount(m->source, fd_path(fd), m->fstype, m->flags, m->data) < 0)
    die(step, errno, "mount %s on %s (type %s, flags %#llx, data \"%s\")", m->source, m->target, m->fstype,
        (unsigned long long)m->flags, m->data);
  close(fd);
  if (!m->remount_flags && !m->propagation) return;

  fd = open_in_root(m->target, 0); /* the fd from before the mount still shows what is underneath */
  if (fd < 0) die(step, errno, "reopen %s", m->target);
  if (m->remount_flags) remount_bind(fd_path(fd), m->target, m->remount_flags);
  if (m->propagation && mount(NULL, fd_path(fd), NULL, m->propagation, NULL) < 0)
    die(step, errno, "set propagation %#llx on %s", (unsigned long long)m->propagation, m->target);
  close(fd);
}

/* An existing node at the path is fine when it is the device asked for: same type, same numbers (not for fifos). */
static int same_device(int dir, const char *name, const struct plan_device *d)
{
  struct stat st;
  if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return 0;
  if ((st.st_mode & S_IFMT) != (d->type & S_IFMT)) return 0;
  return S_ISFIFO(st.st_mode) || st.st_rdev == makedev(d->major, d->minor);
}

static void make_device(const struct plan_device *d)
{
  char buf[PATH_MAX], step[64];
  const char *name;
  snprintf(step, sizeof step, "device %s", d->path);
  int dir = open_parent(d->path, buf, sizeof buf, &name);
  if (dir < 0) die(step, errno, "resolve the directory of %s in the rootfs", d->path);
  if (d->bind) {
    /* no mknod in a user namespace: bind the host's node onto an empty file */
    if (create_component(dir, name, 1) < 0) die(step, errno, "create %s", d->path);
    int fd = open_in_root(d->path, O_NOFOLLOW);
    if (fd < 0) die(step, errno, "reopen %s", d->path);
    if (mount(d->source, fd_path(fd), NULL, MS_BIND, NULL) < 0) die(step, errno, "bind %s", d->source);
    close(fd);
  } else if (mknodat(dir, name, d->type | (d->mode & 07777), makedev(d->major, d->minor)) == 0) {
    if (fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) die(step, errno, "chown %s", d->path);
  } else if (errno != EEXIST) {
    die(step, errno, "mknod %s (%u:%u)", d->path, d->major, d->minor);
  } else if (!same_device(dir, name, d)) {
    /* the spec: a file already at the path that does not match the requested device is an error */
    die(step, EEXIST, "%s already exists and is not the requested device (%s %u:%u)", d->path,
        S_ISBLK(d->type) ? "b" : S_ISFIFO(d->type) ? "p" : "c", d->major, d->minor);
  }
  close(dir);
}

static void make_symlink(const struct plan_symlink *l)
{
  char buf[PATH_MAX];
  const char *name;
  int dir = open_parent(l->linkpath, buf, sizeof buf, &name);
  if (dir < 0) die("symlink", errno, "resolve the directory of %s in the rootfs", l->linkpath);
  if (symlinkat(l->target, dir, name) < 0 && errno != EEXIST)
    die("symlink", errno, "symlink %s -> %s", l->linkpath, l->target);
  close(dir);
}

void mount_run_steps(const struct plan *p)
{
  mode_t saved_umask = umask(0); /* created directories and nodes get exactly the modes asked for */
  for (uint32_t i = 0; i < p->n_mounts; i++) run_mount(&p->mounts[i]);
  for (uint32_t i = 0; i < p->n_devices; i++) make_device(&p->devices[i]);
  for (uint32_t i = 0; i < p->n_symlinks; i++) make_symlink(&p->symlinks[i]);
  if (p->cwd) { /* a missing working directory is created, as runc does */
    int fd = open_or_create(p->cwd, MOUNT_MK_DIR);
    if (fd < 0) die("cwd", errno, "create the cwd %s in the rootfs", p->cwd);
    close(fd);
  }
  umask(saved_umask);
  close(rootfd);
  rootfd = -1;
}

void mount_write_sysctls(const struct plan *p)
{
  char path[PATH_MAX];
  for (uint32_t i = 0; i < p->n_sysctls; i++) {
    const struct plan_sysctl *s = &p->sysctls[i];
    int n = snprintf(path, sizeof path, "/proc/sys/%s", s->key);
    if (n < 0 || (size_t)n >= sizeof path) die("sysctl", ENAMETOOLONG, "%s", s->key);
    for (char *c = path + 10; *c; c++)
      if (*c == '.') *c = '/';
    if (write_file(path, s->value) < 0) die("sysctl", errno, "%s=%s", s->key, s->value);
  }
}

/* extract.c: `tar --extract --gzip --directory DIR < archive`, as GNU tar run by root extracts it: owners
 * (lchown), then modes (after the chown, which clears set-id bits), then mtimes; a directory's metadata once
 * its contents are in. Member names are resolved beneath DIR one component at a time without following
 * symlinks; a leading "/" is dropped, and a ".." component refuses the whole archive before anything is written
 * (GNU tar skips such a member and exits 2 at the end).
 *
 * Two passes over stdin: the first reads only the headers (data inflated and skipped) and decides, before
 * anything is written, whether this program handles every member; if not (pax headers, GNU sparse files,
 * owner names, ...) the whole archive goes to GNU tar from its start, so the two never share an extraction
 * and GNU tar never meets symlinks this program made. A stdin that cannot seek is first copied to a memfd.
 * Both passes read members through members.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "tt.h"

static off_t start; /* where the archive begins on stdin (a memfd copy of it when stdin cannot seek) */
static int root = -1;
static size_t nentries;

static int cache_stale; /* a directory was removed: it may be the cached parent below */

static int remove_existing(int dfd, const char *name)
{
  if (unlinkat(dfd, name, 0) == 0) return 0;
  if (errno != EISDIR && errno != EPERM) return -1;
  cache_stale = 1;
  return unlinkat(dfd, name, AT_REMOVEDIR);
}

/* The directory holding `rel` opened beneath DIR (the caller closes it unless it is `root`), creating
 * missing parents as GNU tar does; *last points at the final component inside rel. */
static int open_parent(char *rel, const char **last, const char *shown)
{
  int cur = root;
  char *p = rel;
  for (;;) {
    char *slash = strchr(p, '/');
    if (!slash) break;
    *slash = '\0';
    int fd = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      if (mkdirat(cur, p, 0777) < 0 && errno != EEXIST) die("%s: cannot create the directory %s: %s", shown, rel, strerror(errno));
      fd = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      int e = errno;
      struct stat st;
      int link = e == ELOOP || (e == ENOTDIR && fstatat(cur, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
      die("%s: cannot open %s beneath the target directory: %s", shown, rel, link ? "it is a symlink" : strerror(e));
    }
    *slash = '/';
    if (cur != root) close(cur);
    cur = fd;
    p = slash + 1;
  }
  *last = p;
  return cur;
}

/* Consecutive members mostly share a parent: the last one stays open. */
static char *cached_path;
static int cached_fd = -1;

static void forget_parent(void)
{
  if (cached_fd >= 0 && cached_fd != root) close(cached_fd);
  cached_fd = -1;
  free(cached_path);
  cached_path = NULL;
}

static int parent_of(char *rel, const char **last, const char *shown)
{
  char *slash = strrchr(rel, '/');
  size_t plen = slash ? (size_t)(slash - rel) : 0;
  if (!slash) {
    *last = rel;
    return root;
  }
  if (cache_stale) forget_parent();
  cache_stale = 0;
  if (cached_path && strlen(cached_path) == plen && memcmp(cached_path, rel, plen) == 0) {
    *last = slash + 1;
    return cached_fd;
  }
  forget_parent();
  int fd = open_parent(rel, last, shown);
  cached_path = strndup(rel, plen);
  if (!cached_path) die("out of memory");
  cached_fd = fd;
  return fd;
}

/* Directories get their metadata after their contents (creating entries changes a directory's mtime). */
struct dir_meta {
  char *rel;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
};
static struct dir_meta *dirs;
static size_t ndirs, dirs_cap;

static void set_meta_fd(int fd, const struct dir_meta *m, const char *shown)
{
  struct timespec ts[2] = {{0, UTIME_NOW}, m->mtime};
  if (fchown(fd, m->uid, m->gid) < 0) die("%s: cannot change the owner: %s", shown, strerror(errno));
  if (fchmod(fd, m->mode) < 0) die("%s: cannot change the mode: %s", shown, strerror(errno));
  if (futimens(fd, ts) < 0) die("%s: cannot set the times: %s", shown, strerror(errno));
}

static void finish_dirs(void)
{
  forget_parent();
  for (size_t i = ndirs; i-- > 0;) {
    struct dir_meta *m = &dirs[i];
    int fd;
    if (m->rel[0] == '\0') {
      fd = root;
    } else {
      const char *last;
      int pfd = open_parent(m->rel, &last, m->rel);
      fd = openat(pfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (pfd != root) close(pfd);
      if (fd < 0) die("./%s: cannot open the directory: %s", m->rel, strerror(errno));
    }
    set_meta_fd(fd, m, m->rel[0] ? m->rel : ".");
    if (fd != root) close(fd);
    free(m->rel);
  }
}

static void copy_data(int fd, int64_t size, const char *shown)
{
  static char buf[128 * 1024];
  uint64_t left = (uint64_t)size;
  while (left > 0) {
    size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
    size_t got = (want + BLOCK - 1) / BLOCK * BLOCK; /* the archive's data is padded to whole blocks */
    if (got > sizeof buf) got = sizeof buf;
    if (gzr_read(buf, got) != got) die("unexpected end of the archive");
    for (size_t off = 0; off < want;) {
      ssize_t w = write(fd, buf + off, want - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) die("%s: cannot write: %s", shown, strerror(errno));
      off += (size_t)w;
    }
    left -= want;
  }
}

static void set_meta_at(int pfd, const char *last, mode_t mode, int chmod_it, uid_t uid, gid_t gid,
                        struct timespec mtime, const char *shown)
{
  struct timespec ts[2] = {{0, UTIME_NOW}, mtime};
  if (fchownat(pfd, last, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) die("%s: cannot change the owner: %s", shown, strerror(errno));
  if (chmod_it && fchmodat(pfd, last, mode, 0) < 0) die("%s: cannot change the mode: %s", shown, strerror(errno));
  if (utimensat(pfd, last, ts, AT_SYMLINK_NOFOLLOW) < 0) die("%s: cannot set the times: %s", shown, strerror(errno));
}

/* Runs `call` (a mkdirat/symlinkat/... of `last` in `pfd`); an existing non-directory in the way is removed
 * first, as GNU tar does by default. */
#define CREATE(call, shown)                                                                                   \
  do {                                                                                                        \
    if ((call) < 0) {                                                                                         \
      if (errno != EEXIST || remove_existing(pfd, last) < 0 || (call) < 0)                                  \
        die("%s: cannot create: %s", shown, strerror(errno));                                               \
    }                                                                                                         \
  } while (0)

static void rewind_stdin(void)
{
  if (lseek(STDIN_FILENO, start, SEEK_SET) != start) die("cannot read the archive again: %s", strerror(errno));
}

/* Copies a stdin that cannot seek (a pipe) into a memfd made the new stdin, so both passes and GNU tar read it. */
static void stdin_to_memfd(void)
{
  int fd = memfd_create("ocirt-tmpfs-tar", MFD_CLOEXEC);
  if (fd < 0) die("stdin cannot seek and a memfd for a copy of the archive cannot be made: %s", strerror(errno));
  static char buf[128 * 1024];
  for (;;) {
    ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("cannot read the archive: %s", strerror(errno));
    if (r == 0) break;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = write(fd, buf + off, (size_t)(r - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) die("cannot copy the archive to a memfd: %s", strerror(errno));
      off += w;
    }
  }
  if (dup2(fd, STDIN_FILENO) < 0) die("cannot make the memfd stdin: %s", strerror(errno));
  close(fd);
  start = 0;
  rewind_stdin();
}

/* The first pass: headers only, data skipped, nothing touched. Anything this program does not handle sends the
 * whole archive to GNU tar from its start, so nothing is ever half-extracted by one and finished by the other. */
static void prepass(void)
{
  struct member m;
  char why[256 + PATH_MAX];
  gzr_init(STDIN_FILENO);
  for (;;) {
    int r = next_member(&m, nentries, why, sizeof why);
    if (r == 0) break;
    if (r < 0) {
      rewind_stdin();
      run_gnu_tar(why);
    }
    skip_data(m.size);
    free_member(&m);
    nentries++;
  }
  rewind_stdin();
  nentries = 0;
}

int tar_extract(const char *dir)
{
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  /* GNU tar run by anyone else keeps its own uid and applies the umask: not what this program does */
  if (geteuid() != 0) run_gnu_tar(NULL);
  root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) run_gnu_tar(NULL); /* nothing read yet: GNU tar says why, its own way */
  start = lseek(STDIN_FILENO, 0, SEEK_CUR);
  if (start < 0 && errno != ESPIPE) run_gnu_tar(NULL); /* no stdin at all: nothing read, GNU tar says so */
  if (start < 0) stdin_to_memfd();
  prepass();

  gzr_init(STDIN_FILENO);
  for (;;) {
    struct member m;
    char why[256 + PATH_MAX];
    int r = next_member(&m, nentries, why, sizeof why);
    if (r == 0) break;
    if (r < 0) die("%s, though the first read of the archive did not find it: the archive changed", why);
    nentries++;
    const char *raw = m.raw, *last;
    if (m.type == '5') {
      if (ndirs == dirs_cap) {
        dirs_cap = dirs_cap ? dirs_cap * 2 : 32;
        dirs = realloc(dirs, dirs_cap * sizeof *dirs);
        if (!dirs) die("out of memory");
      }
      if (m.rel[0]) {
        int pfd = parent_of(m.rel, &last, raw);
        if (mkdirat(pfd, last, 0700) < 0) {
          struct stat st;
          if (errno != EEXIST || fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0) die("%s: cannot create: %s", raw, strerror(errno));
          if (!S_ISDIR(st.st_mode)) CREATE(mkdirat(pfd, last, 0700), raw);
        }
      }
      dirs[ndirs++] = (struct dir_meta){m.rel, m.perm, m.uid, m.gid, m.mtime};
      m.rel = NULL;
      free_member(&m);
      continue;
    }

    int pfd = parent_of(m.rel, &last, raw);
    switch (m.type) {
    case '1': {
      const char *tlast;
      int tpfd = open_parent(m.target, &tlast, raw);
      CREATE(linkat(tpfd, tlast, pfd, last, 0), raw);
      if (tpfd != root) close(tpfd);
      break;
    }
    case '2':
      CREATE(symlinkat(m.link, pfd, last), raw);
      set_meta_at(pfd, last, 0, 0, m.uid, m.gid, m.mtime, raw);
      break;
    case '3':
    case '4':
    case '6': {
      mode_t fmt = m.type == '3' ? S_IFCHR : m.type == '4' ? S_IFBLK : S_IFIFO;
      dev_t dev = m.type == '6' ? 0 : makedev(m.maj, m.min);
      CREATE(mknodat(pfd, last, fmt | 0600, dev), raw);
      set_meta_at(pfd, last, m.perm, 1, m.uid, m.gid, m.mtime, raw);
      break;
    }
    default: {
      int fd;
      CREATE(fd = openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), raw);
      copy_data(fd, m.size, raw);
      struct dir_meta dm = {NULL, m.perm, m.uid, m.gid, m.mtime};
      set_meta_fd(fd, &dm, raw);
      if (close(fd) < 0) die("%s: cannot write: %s", raw, strerror(errno));
    }
    }
    free_member(&m);
  }
  finish_dirs();
  if (tt_debug) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    note("extracted %zu entries into %s in %ld us", nentries, dir, us);
  }
  return 0;
}

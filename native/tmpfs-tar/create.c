/* create.c: `tar --create --gzip --one-file-system --numeric-owner ... --directory DIR .` as GNU tar would
 * archive it: "./", "./a", "./d/" ... in ustar headers (GNU's ././@LongLink entries for names that do not fit),
 * gzip-compressed to stdout. The whole tree is scanned before a byte is written: a hard link, a sparse file, a
 * socket, a path too long to reopen, too many entries, or anything that cannot be read hands the job to GNU tar
 * instead. As with --one-file-system, a directory on another filesystem (a mount point) is archived but not
 * entered.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "tt.h"

struct entry {
  char *name; /* as archived: "./" for the top, "./a/b", "./d/" for a directory */
  char *link; /* a symlink's target */
  struct stat st;
};

static struct entry *entries;
static size_t nentries, cap;
static size_t name_bytes;

/* More than this is not a tmpfs of CRIU's to hold in memory: GNU tar streams it instead. */
#define MAX_ENTRIES 1000000
#define MAX_NAME_BYTES ((size_t)256 << 20)
static uint64_t tar_bytes;

static void *xmalloc(size_t n)
{
  void *p = malloc(n);
  if (!p) die("out of memory");
  return p;
}

static _Noreturn void give_up(const char *what, const char *prefix, const char *name);

/* `name` opened beneath `root` with no symlink (nor /proc magic link) followed on the way, whatever the tree
 * became since it was scanned; -1 with errno set (ENOSYS: a kernel before 5.6). */
static int open_beneath(int root, const char *name, int flags)
{
  struct open_how how = {
    .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  return (int)syscall(SYS_openat2, root, name, &how, sizeof how);
}

static struct entry *add(const char *prefix, const char *name, const struct stat *st)
{
  /* every path is opened again beneath the root (openat2, PATH_MAX at most) once output has begun */
  size_t lp = strlen(prefix), ln = strlen(name), dir = S_ISDIR(st->st_mode) && ln > 0;
  if (lp - 2 + ln + 1 > PATH_MAX) give_up(" has a path too long to open beneath the directory", prefix, name);
  name_bytes += lp + ln + dir + 1;
  if (nentries == MAX_ENTRIES || name_bytes > MAX_NAME_BYTES) give_up(": too many entries for this program to hold", prefix, name);
  if (nentries == cap) {
    cap = cap ? cap * 2 : 64;
    entries = realloc(entries, cap * sizeof *entries);
    if (!entries) die("out of memory");
  }
  struct entry *e = &entries[nentries++];
  e->name = xmalloc(lp + ln + dir + 1);
  memcpy(e->name, prefix, lp);
  memcpy(e->name + lp, name, ln);
  if (dir) e->name[lp + ln] = '/';
  e->name[lp + ln + dir] = '\0';
  e->link = NULL;
  e->st = *st;
  return e;
}

static char *read_link(int dfd, const char *name, const struct stat *st, const char *path)
{
  size_t size = (size_t)st->st_size + 1 > 256 ? (size_t)st->st_size + 1 : 256;
  for (;;) {
    char *buf = xmalloc(size);
    ssize_t n = readlinkat(dfd, name, buf, size);
    if (n < 0) {
      free(buf);
      char why[64 + 2 * PATH_MAX];
      snprintf(why, sizeof why, "cannot read the symlink %s%s: %s", path, name, strerror(errno));
      run_gnu_tar(why);
    }
    if ((size_t)n < size) {
      buf[n] = '\0';
      return buf;
    }
    free(buf);
    size *= 2;
  }
}

static _Noreturn void give_up(const char *what, const char *prefix, const char *name)
{
  char why[256 + 2 * PATH_MAX];
  snprintf(why, sizeof why, "%s%s%s", prefix, name, what);
  run_gnu_tar(why);
}

/* A directory's child as read while the directory is open: the directory is closed before its subdirectories
 * are entered, so open files and readdir buffers do not pile up with depth. */
struct child {
  char *name;
  char *link;
  struct stat st;
};

static int by_child_name(const void *a, const void *b)
{
  return strcmp(((const struct child *)a)->name, ((const struct child *)b)->name);
}

/* Adds what the directory `dfd` (owned; "prefix" is its archived name) holds, depth first. */
static void scan(int root, int dfd, const char *prefix, dev_t dev)
{
  DIR *d = fdopendir(dfd);
  if (!d) give_up(": cannot read the directory", prefix, "");
  struct child *kids = NULL;
  size_t n = 0, ncap = 0, pending = 0;
  struct dirent *de;
  errno = 0;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (n == ncap) {
      ncap = ncap ? ncap * 2 : 16;
      kids = realloc(kids, ncap * sizeof *kids);
      if (!kids) die("out of memory");
    }
    kids[n].name = strdup(de->d_name);
    kids[n].link = NULL;
    if (!kids[n++].name) die("out of memory");
    /* the caps of add(), already while one huge directory is read */
    pending += strlen(prefix) + strlen(de->d_name) + 2;
    if (nentries + n > MAX_ENTRIES || name_bytes + pending > MAX_NAME_BYTES) give_up(": too many entries for this program to hold", prefix, "");
  }
  if (errno) give_up(": cannot read the directory", prefix, "");
  /* in name order, as archived: what is reported first does not depend on readdir's order */
  qsort(kids, n, sizeof *kids, by_child_name);
  for (size_t i = 0; i < n; i++) {
    struct child *k = &kids[i];
    if (fstatat(dirfd(d), k->name, &k->st, AT_SYMLINK_NOFOLLOW) < 0) give_up(": cannot stat", prefix, k->name);
    const struct stat *st = &k->st;
    /* any hard link but a directory's: GNU tar archives the second name as a link to the first */
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) give_up(" is hard-linked", prefix, k->name);
    switch (st->st_mode & S_IFMT) {
    case S_IFREG:
      /* fewer blocks than the size needs: holes, which GNU tar's --sparse keeps */
      if (st->st_blocks < st->st_size / 512 + (st->st_size % 512 != 0)) give_up(" is a sparse file", prefix, k->name);
      break;
    case S_IFLNK:
      k->link = read_link(dirfd(d), k->name, st, prefix);
      break;
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFDIR:
      break;
    default:
      give_up(S_ISSOCK(st->st_mode) ? " is a socket" : " is of an unknown type", prefix, k->name);
    }
  }
  closedir(d);

  for (size_t i = 0; i < n; i++) {
    struct child *k = &kids[i];
    struct entry *e = add(prefix, k->name, &k->st);
    e->link = k->link;
    if (S_ISDIR(k->st.st_mode) && k->st.st_dev == dev) { /* another dev: a mount point, archived, not entered */
      int sub = open_beneath(root, e->name + 2, O_RDONLY | O_DIRECTORY);
      struct stat now;
      if (sub < 0 || fstat(sub, &now) < 0) give_up(": cannot open the directory", prefix, k->name);
      if (now.st_ino != k->st.st_ino || now.st_dev != k->st.st_dev) give_up(": changed while it was scanned", prefix, k->name);
      char *name = strdup(e->name); /* `entries` may move while the subtree is added */
      if (!name) die("out of memory");
      scan(root, sub, name, dev);
      free(name);
    }
    free(k->name);
  }
  free(kids);
}

static void emit(const void *p, size_t n)
{
  gzw_write(p, n);
  tar_bytes += n;
}

static void emit_padding(uint64_t size)
{
  static const char zeros[BLOCK];
  if (size % BLOCK) emit(zeros, BLOCK - size % BLOCK);
}

static void number(char *field, size_t len, int64_t v, const char *name)
{
  if (put_number(field, len, v) < 0) die("%s: a number does not fit in its tar header field", name);
}

/* A GNU long-name ('L') or long-link ('K') entry carrying `text` for the header that follows. */
static void emit_long(char type, const char *text)
{
  struct tar_header h;
  memset(&h, 0, sizeof h);
  size_t n = strlen(text) + 1;
  strcpy(h.name, "././@LongLink");
  number(h.mode, sizeof h.mode, 0, text);
  number(h.uid, sizeof h.uid, 0, text);
  number(h.gid, sizeof h.gid, 0, text);
  number(h.size, sizeof h.size, (int64_t)n, text);
  number(h.mtime, sizeof h.mtime, 0, text);
  h.typeflag = type;
  /* GNU's magic and version ("ustar  \0" over both fields): this entry is a GNU extension */
  memcpy((char *)&h + offsetof(struct tar_header, magic), "ustar  ", 8);
  set_checksum(&h);
  emit(&h, sizeof h);
  emit(text, n);
  emit_padding(n);
}

static void emit_header(const struct entry *e)
{
  struct tar_header h;
  memset(&h, 0, sizeof h);
  const struct stat *st = &e->st;
  size_t len = strlen(e->name);
  if (len <= sizeof h.name) {
    memcpy(h.name, e->name, len);
  } else {
    /* ustar: prefix "/" name, split at a slash */
    size_t cut = 0;
    for (size_t i = len - 1; i > 0; i--) {
      if (e->name[i] == '/' && i <= sizeof h.prefix && len - i - 1 <= sizeof h.name && len - i - 1 > 0) {
        cut = i;
        break;
      }
      if (len - i > sizeof h.name + 1) break;
    }
    if (cut) {
      memcpy(h.prefix, e->name, cut);
      memcpy(h.name, e->name + cut + 1, len - cut - 1);
    } else {
      emit_long('L', e->name);
      memcpy(h.name, e->name, sizeof h.name);
    }
  }
  if (e->link) {
    size_t ll = strlen(e->link);
    if (ll > sizeof h.linkname) emit_long('K', e->link);
    memcpy(h.linkname, e->link, ll > sizeof h.linkname ? sizeof h.linkname : ll);
  }
  number(h.mode, sizeof h.mode, st->st_mode & 07777, e->name);
  number(h.uid, sizeof h.uid, st->st_uid, e->name);
  number(h.gid, sizeof h.gid, st->st_gid, e->name);
  number(h.size, sizeof h.size, S_ISREG(st->st_mode) ? st->st_size : 0, e->name);
  number(h.mtime, sizeof h.mtime, st->st_mtim.tv_sec, e->name);
  switch (st->st_mode & S_IFMT) {
  case S_IFREG: h.typeflag = '0'; break;
  case S_IFLNK: h.typeflag = '2'; break;
  case S_IFCHR: h.typeflag = '3'; break;
  case S_IFBLK: h.typeflag = '4'; break;
  case S_IFDIR: h.typeflag = '5'; break;
  case S_IFIFO: h.typeflag = '6'; break;
  }
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
    number(h.devmajor, sizeof h.devmajor, major(st->st_rdev), e->name);
    number(h.devminor, sizeof h.devminor, minor(st->st_rdev), e->name);
  }
  memcpy(h.magic, "ustar", 6);
  memcpy(h.version, "00", 2);
  set_checksum(&h);
  emit(&h, sizeof h);
}

static void emit_contents(int root, const struct entry *e)
{
  static char buf[128 * 1024];
  int fd = open_beneath(root, e->name + 2, O_RDONLY | O_NONBLOCK);
  struct stat st;
  if (fd < 0) die("%s: cannot open: %s", e->name, strerror(errno));
  if (fstat(fd, &st) < 0 || st.st_ino != e->st.st_ino || st.st_dev != e->st.st_dev)
    die("%s: changed while it was archived", e->name);
  uint64_t left = (uint64_t)e->st.st_size;
  while (left > 0) {
    ssize_t n = read(fd, buf, left < sizeof buf ? left : sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("%s: cannot read: %s", e->name, strerror(errno));
    if (n == 0) die("%s: shrank while it was archived", e->name);
    emit(buf, (size_t)n);
    left -= (uint64_t)n;
  }
  close(fd);
  emit_padding((uint64_t)e->st.st_size);
}

int tar_create(const char *dir)
{
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) run_gnu_tar(NULL); /* GNU tar says why, its own way */
  struct stat st;
  if (fstat(root, &st) < 0) run_gnu_tar(NULL);
  /* openat2 is what emit_contents opens files with: without it, GNU tar (decided before any output) */
  int probe = open_beneath(root, ".", O_RDONLY | O_DIRECTORY);
  if (probe < 0) run_gnu_tar(errno == ENOSYS ? "no openat2 on this kernel" : NULL);
  close(probe);
  add("./", "", &st);
  int scanfd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (scanfd < 0) run_gnu_tar(NULL);
  scan(root, scanfd, "./", st.st_dev);

  gzw_init(STDOUT_FILENO);
  for (size_t i = 0; i < nentries; i++) {
    emit_header(&entries[i]);
    if (S_ISREG(entries[i].st.st_mode) && entries[i].st.st_size > 0) emit_contents(root, &entries[i]);
  }
  /* the end: two zero blocks, then zeros to a whole record of 20 blocks, as GNU tar writes */
  static const char zeros[20 * BLOCK];
  emit(zeros, 2 * BLOCK);
  if (tar_bytes % sizeof zeros) emit(zeros, sizeof zeros - tar_bytes % sizeof zeros);
  gzw_finish();
  if (tt_debug) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    note("created %zu entries of %s (%llu bytes, %llu gzipped) in %ld us", nentries, dir,
         (unsigned long long)tar_bytes, (unsigned long long)gzw_total(), us);
  }
  return 0;
}

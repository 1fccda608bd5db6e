/* extract.c: `tar --extract --gzip --directory DIR < archive`, as GNU tar run by root extracts it: owners
 * (lchown), then modes (after the chown, which clears set-id bits), then mtimes; a directory's metadata once
 * its contents are in. Member names are resolved beneath DIR one component at a time without following
 * symlinks; a leading "/" is dropped and a ".." component refused, as GNU tar does. An entry this program does
 * not handle (GNU sparse files, volume labels, global pax headers, owner names...) hands the archive to GNU tar
 * from its start when stdin can seek, and is an error when it cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "tt.h"

#define MAX_EXTENSION (1 << 20) /* a long name or pax header larger than this is not a tmpfs of CRIU's */

static off_t start = -1; /* where the archive began on stdin, for GNU tar; -1: stdin cannot seek */
static int root = -1;
static size_t nentries;

/* Hands the archive to GNU tar from its start, or fails when stdin cannot go back. */
static _Noreturn void unsupported(const char *what, const char *name)
{
  char why[256 + PATH_MAX];
  snprintf(why, sizeof why, "%s%s%s", name ? name : "", name ? ": " : "", what);
  if (start >= 0 && lseek(STDIN_FILENO, start, SEEK_SET) == start) run_gnu_tar(why);
  die("%s, and GNU tar cannot take over: the archive on stdin cannot be read again", why);
}

/* What a pax extended header ('x') says about the next entry. */
struct overrides {
  char *path, *link;
  int64_t size, uid, gid;
  struct timespec mtime;
  int has_size, has_uid, has_gid, has_mtime;
};

static char *read_text(int64_t size, const char *what)
{
  if (size < 0 || size > MAX_EXTENSION) unsupported("an oversized extension header", what);
  size_t padded = ((size_t)size + BLOCK - 1) / BLOCK * BLOCK;
  char *buf = malloc(padded + 1);
  if (!buf) die("out of memory");
  if (padded && gzr_read(buf, padded) != padded) die("unexpected end of the archive");
  buf[size] = '\0';
  return buf;
}

static int parse_decimal(const char *s, const char *end, int64_t *v)
{
  int64_t x = 0;
  if (s == end) return -1;
  for (; s < end; s++) {
    if (*s < '0' || *s > '9' || x > (INT64_MAX - 9) / 10) return -1;
    x = x * 10 + (*s - '0');
  }
  *v = x;
  return 0;
}

/* "secs[.frac]", as pax writes times; a negative time is left to GNU tar */
static int parse_time(const char *s, const char *end, struct timespec *ts)
{
  const char *dot = memchr(s, '.', (size_t)(end - s));
  int64_t sec;
  if (parse_decimal(s, dot ? dot : end, &sec) < 0) return -1;
  long ns = 0;
  if (dot) {
    int digits = 0;
    for (const char *p = dot + 1; p < end; p++) {
      if (*p < '0' || *p > '9') return -1;
      if (digits++ < 9) ns = ns * 10 + (*p - '0');
    }
    for (; digits < 9; digits++) ns *= 10;
  }
  ts->tv_sec = sec;
  ts->tv_nsec = ns;
  return 0;
}

static void parse_pax(char *text, size_t size, struct overrides *o)
{
  char *p = text, *end = text + size;
  while (p < end) {
    char *sp = memchr(p, ' ', (size_t)(end - p));
    int64_t len;
    if (!sp || parse_decimal(p, sp, &len) < 0 || len <= sp - p + 1 || len > end - p || p[len - 1] != '\n')
      die("invalid pax extended header");
    char *key = sp + 1, *rec_end = p + len - 1;
    char *eq = memchr(key, '=', (size_t)(rec_end - key));
    if (!eq) die("invalid pax extended header");
    *eq = '\0';
    char *val = eq + 1;
    int bad = 0;
    if (strcmp(key, "path") == 0 || strcmp(key, "linkpath") == 0) {
      char **dst = key[0] == 'p' ? &o->path : &o->link;
      free(*dst);
      *dst = strndup(val, (size_t)(rec_end - val));
      if (!*dst) die("out of memory");
      if (strlen(*dst) != (size_t)(rec_end - val)) bad = 1; /* a NUL inside */
    } else if (strcmp(key, "size") == 0) {
      bad = parse_decimal(val, rec_end, &o->size) < 0;
      o->has_size = 1;
    } else if (strcmp(key, "uid") == 0) {
      bad = parse_decimal(val, rec_end, &o->uid) < 0;
      o->has_uid = 1;
    } else if (strcmp(key, "gid") == 0) {
      bad = parse_decimal(val, rec_end, &o->gid) < 0;
      o->has_gid = 1;
    } else if (strcmp(key, "mtime") == 0) {
      bad = parse_time(val, rec_end, &o->mtime) < 0;
      o->has_mtime = 1;
    } else if (strcmp(key, "atime") == 0 || strcmp(key, "ctime") == 0) {
      /* GNU tar sets atime to now and cannot set ctime */
    } else {
      unsupported("a pax header keyword this program does not handle", key);
    }
    if (bad) unsupported("a pax header value this program does not handle", key);
    p += len;
  }
}

/* The member name made relative: no leading "/", no "." or empty components; "" names DIR itself. */
static char *normalize(const char *in, const char *shown)
{
  size_t n = strlen(in);
  char *out = malloc(n + 1), *o = out;
  if (!out) die("out of memory");
  const char *p = in;
  while (*p) {
    while (*p == '/') p++;
    const char *c = p;
    while (*p && *p != '/') p++;
    size_t len = (size_t)(p - c);
    if (len == 0 || (len == 1 && c[0] == '.')) continue;
    if (len == 2 && c[0] == '.' && c[1] == '.') die("%s: refusing a member name that contains \"..\"", shown);
    if (o != out) *o++ = '/';
    memcpy(o, c, len);
    o += len;
  }
  *o = '\0';
  return out;
}

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

static char *field(const char *f, size_t len)
{
  char *s = strndup(f, len);
  if (!s) die("out of memory");
  return s;
}

int tar_extract(const char *dir)
{
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  /* GNU tar run by anyone else keeps its own uid and applies the umask: not what this program does */
  if (geteuid() != 0) run_gnu_tar(NULL);
  start = lseek(STDIN_FILENO, 0, SEEK_CUR);
  root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) run_gnu_tar(NULL); /* nothing read yet: GNU tar says why, its own way */
  gzr_init(STDIN_FILENO);

  struct overrides o;
  memset(&o, 0, sizeof o);
  for (;;) {
    struct tar_header h;
    if (gzr_read(&h, sizeof h) == 0 || is_zero_block(&h)) break;
    if (!checksum_ok(&h)) die("this does not look like a tar archive (bad header checksum after %zu members)", nentries);
    int64_t size, mode, uid, gid, mtime, maj = 0, min = 0;
    if (get_number(h.size, sizeof h.size, &size) < 0 || get_number(h.mode, sizeof h.mode, &mode) < 0 ||
        get_number(h.uid, sizeof h.uid, &uid) < 0 || get_number(h.gid, sizeof h.gid, &gid) < 0 ||
        get_number(h.mtime, sizeof h.mtime, &mtime) < 0)
      die("invalid number in a tar header after %zu members", nentries);
    if (o.has_size) size = o.size;
    if (size < 0) die("negative member size");

    if (h.typeflag == 'L' || h.typeflag == 'K') {
      char **dst = h.typeflag == 'L' ? &o.path : &o.link;
      free(*dst);
      *dst = read_text(size, "a GNU long name");
      continue;
    }
    if (h.typeflag == 'x') {
      char *text = read_text(size, "a pax header");
      parse_pax(text, (size_t)size, &o);
      free(text);
      continue;
    }

    int posix = memcmp(h.magic, "ustar", 6) == 0;
    char *raw;
    if (o.path) {
      raw = o.path;
      o.path = NULL;
    } else if (posix && h.prefix[0]) {
      char *pre = field(h.prefix, sizeof h.prefix), *nm = field(h.name, sizeof h.name);
      raw = malloc(strlen(pre) + strlen(nm) + 2);
      if (!raw) die("out of memory");
      sprintf(raw, "%s/%s", pre, nm);
      free(pre);
      free(nm);
    } else {
      raw = field(h.name, sizeof h.name);
    }
    char *link = o.link ? o.link : field(h.linkname, sizeof h.linkname);
    o.link = NULL;
    if (h.uname[0] || h.gname[0]) unsupported("owner names (GNU tar maps them to this host's ids)", raw);
    if (o.has_uid) uid = o.uid;
    if (o.has_gid) gid = o.gid;
    struct timespec mt = {mtime, 0};
    if (o.has_mtime) mt = o.mtime;
    if (uid < 0 || gid < 0 || uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1) unsupported("an owner out of range", raw);
    if (mt.tv_sec < 0) unsupported("a time before 1970", raw);
    memset(&o, 0, sizeof o);
    char type = h.typeflag;
    if (type == '3' || type == '4') {
      if (get_number(h.devmajor, sizeof h.devmajor, &maj) < 0 || get_number(h.devminor, sizeof h.devminor, &min) < 0)
        die("%s: invalid device number", raw);
    }
    int regular = type == '0' || type == '\0' || type == '7';
    if (regular && raw[0] && raw[strlen(raw) - 1] == '/') unsupported("an old-style directory entry", raw);
    if (!regular && !strchr("123456", type) ) unsupported("an entry type this program does not handle", raw);
    if (!regular && size != 0) unsupported("data on an entry that is not a regular file", raw);

    char *rel = normalize(raw, raw);
    mode_t perm = (mode_t)(mode & 07777);
    nentries++;
    if (rel[0] == '\0') {
      if (type != '5') die("%s: names the target directory itself but is not a directory", raw);
    }
    if (type == '5') {
      if (ndirs == dirs_cap) {
        dirs_cap = dirs_cap ? dirs_cap * 2 : 32;
        dirs = realloc(dirs, dirs_cap * sizeof *dirs);
        if (!dirs) die("out of memory");
      }
      if (rel[0]) {
        const char *last;
        int pfd = parent_of(rel, &last, raw);
        if (mkdirat(pfd, last, 0700) < 0) {
          struct stat st;
          if (errno != EEXIST || fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0) die("%s: cannot create: %s", raw, strerror(errno));
          if (!S_ISDIR(st.st_mode)) CREATE(mkdirat(pfd, last, 0700), raw);
        }
      }
      dirs[ndirs++] = (struct dir_meta){strdup(rel), perm, (uid_t)uid, (gid_t)gid, mt};
      if (!dirs[ndirs - 1].rel) die("out of memory");
      free(rel);
      free(raw);
      free(link);
      continue;
    }

    const char *last;
    int pfd = parent_of(rel, &last, raw);
    switch (type) {
    case '1': {
      char *target = normalize(link, raw);
      if (target[0] == '\0') die("%s: a hard link to the target directory", raw);
      const char *tlast;
      int tpfd = open_parent(target, &tlast, raw);
      CREATE(linkat(tpfd, tlast, pfd, last, 0), raw);
      if (tpfd != root) close(tpfd);
      free(target);
      break;
    }
    case '2':
      CREATE(symlinkat(link, pfd, last), raw);
      set_meta_at(pfd, last, 0, 0, (uid_t)uid, (gid_t)gid, mt, raw);
      break;
    case '3':
    case '4':
    case '6': {
      mode_t fmt = type == '3' ? S_IFCHR : type == '4' ? S_IFBLK : S_IFIFO;
      dev_t dev = type == '6' ? 0 : makedev((unsigned)maj, (unsigned)min);
      CREATE(mknodat(pfd, last, fmt | 0600, dev), raw);
      set_meta_at(pfd, last, perm, 1, (uid_t)uid, (gid_t)gid, mt, raw);
      break;
    }
    default: {
      int fd;
      CREATE(fd = openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), raw);
      copy_data(fd, size, raw);
      struct dir_meta m = {NULL, perm, (uid_t)uid, (gid_t)gid, mt};
      set_meta_fd(fd, &m, raw);
      if (close(fd) < 0) die("%s: cannot write: %s", raw, strerror(errno));
    }
    }
    free(rel);
    free(raw);
    free(link);
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

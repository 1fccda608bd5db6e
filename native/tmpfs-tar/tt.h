/* tt.h: the `tar` that CRIU runs for the contents of tmpfs mounts (see main.c). Shared declarations. */
#ifndef TT_H
#define TT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#define BLOCK 512

/* A ustar header block, field by field (POSIX.1-1988 layout; GNU format reuses `prefix`). */
struct tar_header {
  char name[100];
  char mode[8];
  char uid[8];
  char gid[8];
  char size[12];
  char mtime[12];
  char chksum[8];
  char typeflag;
  char linkname[100];
  char magic[6];
  char version[2];
  char uname[32];
  char gname[32];
  char devmajor[8];
  char devminor[8];
  char prefix[155];
  char pad[12];
};

_Static_assert(sizeof(struct tar_header) == BLOCK, "a tar header is one block");

/* main.c */
extern char **tt_argv;  /* the original argv, handed to GNU tar untouched */
extern int tt_debug;    /* OCIRT_TMPFS_TAR_DEBUG=1: one line about what was done */
_Noreturn void run_gnu_tar(const char *why);
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tarfmt.c */
int put_number(char *field, size_t len, int64_t v);
int get_number(const char *field, size_t len, int64_t *out);
void set_checksum(struct tar_header *h);
int checksum_ok(const struct tar_header *h);
int is_zero_block(const void *b);

/* gz.c: a gzip stream written to an fd, and one read from an fd */
void gzw_init(int fd);
void gzw_write(const void *p, size_t n);
void gzw_finish(void);
uint64_t gzw_total(void);

void gzr_init(int fd);
/* reads exactly n bytes of the uncompressed stream; returns n, or 0 at a clean end of stream before any byte */
size_t gzr_read(void *p, size_t n);

/* members.c: one archive member as extract.c's two passes read it (GNU 'L'/'K' long names already applied) */
struct member {
  char type;
  char *raw;    /* the name as archived */
  char *rel;    /* normalize()d: "" names DIR itself */
  char *link;   /* a symlink's target, a hard link's member name */
  char *target; /* a hard link's target, normalize()d */
  int64_t size;
  mode_t perm;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
  unsigned maj, min;
};
void free_member(struct member *m);
/* the member name made relative: no leading "/", no "." or empty components; "" names DIR itself; ".." dies */
char *normalize(const char *in, const char *shown);
/* the next member's header(s) into *m: 1, 0 at the end, or -1 with `why` naming what this program does not
 * extract itself (the caller hands the whole archive to GNU tar, or stops); `index` counts members, for messages */
int next_member(struct member *m, size_t index, char *why, size_t whylen);
void skip_data(int64_t size);

/* create.c / extract.c */
int tar_create(const char *dir);
int tar_extract(const char *dir);

#endif

/* main.c: `tar` for CRIU. CRIU saves and restores the contents of a container's tmpfs mounts (/dev, /dev/shm,
 * masked directories...) by running `tar` from its PATH, once per mount and per side:
 *
 *   tar --create --gzip --no-unquote --no-wildcards --one-file-system --check-links --preserve-permissions
 *       --sparse --numeric-owner --directory DIR .        (stdout: the image file)
 *   tar --extract --gzip --no-unquote --no-wildcards --directory DIR      (stdin: the image file)
 *
 * GNU tar runs `sh -c gzip` for --gzip: three execs per mount. ocirt puts this program first in criu's PATH
 * only; it does those two commands itself with zlib, in one process. Anything else, and any tree or archive it
 * does not fully handle, goes to GNU tar (by absolute path) with the argv untouched, decided before this program
 * writes anything (archive or files), so correctness never depends on this program. OCIRT_TMPFS_TAR_DEBUG=1 makes it say on stderr (CRIU's log) what it did.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt.h"

char **tt_argv;
int tt_debug;

enum { MODE_NONE, MODE_CREATE, MODE_EXTRACT };

/* The flags each shape takes, each exactly once (bit i = flags[i]). */
static const char *const flags[] = {
  "--create", "--extract", "--gzip", "--no-unquote", "--no-wildcards", "--one-file-system", "--check-links",
  "--preserve-permissions", "--sparse", "--numeric-owner",
};
#define F(i) (1u << (i))
static const unsigned CREATE_SET = F(0) | F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | F(8) | F(9);
static const unsigned EXTRACT_SET = F(1) | F(2) | F(3) | F(4);

_Noreturn void run_gnu_tar(const char *why)
{
  if (why) note("%s: running GNU tar", why);
  static const char *const tars[] = {"/usr/bin/tar", "/bin/tar"};
  int err = ENOENT;
  for (size_t i = 0; i < sizeof tars / sizeof *tars; i++) {
    execv(tars[i], tt_argv);
    if (errno != ENOENT) err = errno;
  }
  fprintf(stderr, "ocirt tmpfs-tar: cannot run GNU tar (/usr/bin/tar, /bin/tar): %s\n", strerror(err));
  exit(2);
}

static void vnote(const char *fmt, va_list ap)
{
  fputs("ocirt tmpfs-tar: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

_Noreturn void die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vnote(fmt, ap);
  va_end(ap);
  exit(2);
}

void note(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vnote(fmt, ap);
  va_end(ap);
}

/* The mode of a command line of one of the two shapes, with its directory; MODE_NONE for anything else. */
static int parse(int argc, char **argv, const char **dir)
{
  unsigned seen = 0;
  int operands = 0, dot = 0;
  *dir = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--directory", 11) == 0 && (a[11] == '\0' || a[11] == '=')) {
      if (*dir) return MODE_NONE;
      if (a[11] == '=') *dir = a + 12;
      else if (i + 1 < argc) *dir = argv[++i];
      else return MODE_NONE;
      if (**dir == '\0') return MODE_NONE;
      continue;
    }
    if (a[0] == '-') {
      size_t k = 0;
      while (k < sizeof flags / sizeof *flags && strcmp(a, flags[k]) != 0) k++;
      if (k == sizeof flags / sizeof *flags || (seen & F(k))) return MODE_NONE;
      seen |= F(k);
      continue;
    }
    operands++;
    dot = strcmp(a, ".") == 0;
  }
  if (!*dir) return MODE_NONE;
  if (seen == CREATE_SET && operands == 1 && dot) return MODE_CREATE;
  if (seen == EXTRACT_SET && operands == 0) return MODE_EXTRACT;
  return MODE_NONE;
}

int main(int argc, char **argv)
{
  tt_argv = argv;
  const char *d = getenv("OCIRT_TMPFS_TAR_DEBUG");
  tt_debug = d && *d && strcmp(d, "0") != 0;
  const char *dir;
  switch (parse(argc, argv, &dir)) {
  case MODE_CREATE:
    return tar_create(dir);
  case MODE_EXTRACT:
    return tar_extract(dir);
  default:
    if (tt_debug) note("not a command line of CRIU's: running GNU tar");
    run_gnu_tar(NULL);
  }
}

/* members.c: reading a tar archive member by member, as both passes of extract.c read it: the header (GNU long
 * names and links applied, ustar prefixes joined, numbers checked), then its data skipped or copied by the
 * caller. Anything this program does not extract itself is reported, not read further, so that the caller can
 * hand the whole archive to GNU tar before anything is written. */
#include <stdlib.h>
#include <string.h>

#include "tt.h"

#define MAX_EXTENSION (1 << 20) /* a long name larger than this is not a tmpfs of CRIU's */

void free_member(struct member *m)
{
  free(m->raw);
  free(m->rel);
  free(m->link);
  free(m->target);
  memset(m, 0, sizeof *m);
}

static char *read_text(int64_t size)
{
  size_t padded = ((size_t)size + BLOCK - 1) / BLOCK * BLOCK;
  char *buf = malloc(padded + 1);
  if (!buf) die("out of memory");
  if (padded && gzr_read(buf, padded) != padded) die("unexpected end of the archive");
  buf[size] = '\0';
  return buf;
}

/* The member name made relative: no leading "/", no "." or empty components; "" names DIR itself. */
char *normalize(const char *in, const char *shown)
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

static char *field(const char *f, size_t len)
{
  char *s = strndup(f, len);
  if (!s) die("out of memory");
  return s;
}

/* Reads the next member's header(s) into *m: 1, or 0 at the end of the archive, or -1 with `why` saying what
 * this program does not handle (the caller hands the whole archive to GNU tar, or stops). Its data is next. */
int next_member(struct member *m, size_t index, char *why, size_t whylen)
{
  char *lname = NULL, *llink = NULL;
  struct tar_header h;
  int64_t size, mode, uid, gid, mtime;
  memset(m, 0, sizeof *m);
  for (;;) {
    if (gzr_read(&h, sizeof h) == 0 || is_zero_block(&h)) {
      free(lname);
      free(llink);
      return 0;
    }
    if (!checksum_ok(&h)) die("this does not look like a tar archive (bad header checksum after %zu members)", index);
    if (get_number(h.size, sizeof h.size, &size) < 0 || get_number(h.mode, sizeof h.mode, &mode) < 0 ||
        get_number(h.uid, sizeof h.uid, &uid) < 0 || get_number(h.gid, sizeof h.gid, &gid) < 0 ||
        get_number(h.mtime, sizeof h.mtime, &mtime) < 0)
      die("invalid number in a tar header after %zu members", index);
    if (size < 0) die("negative member size");
    if (h.typeflag != 'L' && h.typeflag != 'K') break;
    /* a long name or link for the next header, sized by its own header (GNU tar reads it so) */
    if (size > MAX_EXTENSION) {
      snprintf(why, whylen, "an oversized GNU long name");
      goto unsupported;
    }
    char **dst = h.typeflag == 'L' ? &lname : &llink;
    free(*dst);
    *dst = read_text(size);
  }

  m->type = h.typeflag;
  m->size = size;
  if (lname) {
    m->raw = lname;
    lname = NULL;
  } else if (memcmp(h.magic, "ustar", 6) == 0 && h.prefix[0]) {
    char *pre = field(h.prefix, sizeof h.prefix), *nm = field(h.name, sizeof h.name);
    m->raw = malloc(strlen(pre) + strlen(nm) + 2);
    if (!m->raw) die("out of memory");
    sprintf(m->raw, "%s/%s", pre, nm);
    free(pre);
    free(nm);
  } else {
    m->raw = field(h.name, sizeof h.name);
  }
  m->link = llink ? llink : field(h.linkname, sizeof h.linkname);
  llink = NULL;
  const char *what = NULL;
  char type = h.typeflag;
  int regular = type == '0' || type == '\0' || type == '7';
  if (type == 'x' || type == 'g') what = "a pax header (GNU tar reads those)";
  else if (!regular && !strchr("123456", type)) what = "an entry type this program does not handle";
  else if (regular && m->raw[0] && m->raw[strlen(m->raw) - 1] == '/') what = "an old-style directory entry";
  else if (!regular && size != 0) what = "data on an entry that is not a regular file";
  else if (h.uname[0] || h.gname[0]) what = "owner names (GNU tar maps them to this host's ids)";
  else if (uid < 0 || gid < 0 || uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1) what = "an owner out of range";
  else if (mtime < 0) what = "a time before 1970";
  if (!what && (type == '3' || type == '4')) {
    int64_t maj, min;
    if (get_number(h.devmajor, sizeof h.devmajor, &maj) < 0 || get_number(h.devminor, sizeof h.devminor, &min) < 0)
      die("%s: invalid device number", m->raw);
    /* what a dev_t holds (12 bits of major, 20 of minor): GNU tar reports anything else */
    if (maj < 0 || maj > 0xfff || min < 0 || min > 0xfffff) what = "a device number out of range";
    m->maj = (unsigned)maj;
    m->min = (unsigned)min;
  }
  if (what) {
    snprintf(why, whylen, "%s: %s", m->raw, what);
    goto unsupported;
  }
  m->rel = normalize(m->raw, m->raw);
  if (m->rel[0] == '\0' && type != '5') die("%s: names the target directory itself but is not a directory", m->raw);
  if (type == '1') {
    m->target = normalize(m->link, m->raw);
    if (m->target[0] == '\0') die("%s: a hard link to the target directory", m->raw);
  }
  m->perm = (mode_t)(mode & 07777);
  m->uid = (uid_t)uid;
  m->gid = (gid_t)gid;
  m->mtime = (struct timespec){mtime, 0};
  return 1;

unsupported:
  free(lname);
  free(llink);
  free_member(m);
  return -1;
}

void skip_data(int64_t size)
{
  static char buf[64 * 1024];
  uint64_t left = ((uint64_t)size + BLOCK - 1) / BLOCK * BLOCK;
  while (left > 0) {
    size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
    if (gzr_read(buf, n) != n) die("unexpected end of the archive");
    left -= n;
  }
}

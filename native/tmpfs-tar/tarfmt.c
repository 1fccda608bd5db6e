/* tarfmt.c: the numbers and checksum of tar headers. Numbers are octal, NUL-terminated, zero-padded; a value
 * that does not fit takes GNU's base-256 form (first byte 0x80, or 0xff for a negative), which GNU tar reads. */
#include <stddef.h>
#include <string.h>

#include "tt.h"

int put_number(char *field, size_t len, int64_t v)
{
  /* octal: len-1 digits and a NUL */
  size_t digits = len - 1;
  if (v >= 0 && (digits * 3 >= 63 || (uint64_t)v < ((uint64_t)1 << (digits * 3)))) {
    uint64_t u = (uint64_t)v;
    field[len - 1] = '\0';
    for (size_t i = len - 1; i-- > 0;) {
      field[i] = (char)('0' + (u & 7));
      u >>= 3;
    }
    return 0;
  }
  /* base-256 in the len-1 bytes after the marker */
  if (len - 1 < 8) {
    int64_t lim = (int64_t)1 << ((len - 1) * 8 - 1);
    if (v >= lim || v < -lim) return -1;
  }
  uint64_t u = (uint64_t)v;
  for (size_t i = len; i-- > 1;) {
    field[i] = (char)(u & 0xff);
    u = v < 0 ? (u >> 8) | ((uint64_t)0xff << 56) : u >> 8;
  }
  field[0] = (char)(v < 0 ? 0xff : 0x80);
  return 0;
}

int get_number(const char *field, size_t len, int64_t *out)
{
  const unsigned char *f = (const unsigned char *)field;
  if (f[0] == 0x80 || f[0] == 0xff) {
    uint64_t u = f[0] == 0xff ? UINT64_MAX : 0;
    for (size_t i = 1; i < len; i++) {
      if (len - i > 8 && f[i] != (f[0] == 0xff ? 0xff : 0)) return -1; /* more than 64 bits */
      u = (u << 8) | f[i];
    }
    *out = (int64_t)u;
    return 0;
  }
  size_t i = 0;
  while (i < len && f[i] == ' ') i++;
  uint64_t u = 0;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
    if (u >> 61) return -1;
    u = (u << 3) | (uint64_t)(f[i] - '0');
  }
  for (; i < len; i++)
    if (f[i] != ' ' && f[i] != '\0') return -1;
  /* an empty (all-NUL) field is 0, as GNU tar reads it */
  *out = (int64_t)u;
  return 0;
}

static void sums(const struct tar_header *h, int64_t *usum, int64_t *ssum)
{
  const unsigned char *b = (const unsigned char *)h;
  *usum = *ssum = 0;
  for (size_t i = 0; i < BLOCK; i++) {
    int in_chksum = i >= offsetof(struct tar_header, chksum) && i < offsetof(struct tar_header, chksum) + 8;
    *usum += in_chksum ? ' ' : b[i];
    *ssum += in_chksum ? ' ' : (signed char)b[i];
  }
}

void set_checksum(struct tar_header *h)
{
  int64_t u, s;
  sums(h, &u, &s);
  /* six digits, NUL, space: what every tar writes */
  put_number(h->chksum, 7, u);
  h->chksum[7] = ' ';
}

int checksum_ok(const struct tar_header *h)
{
  int64_t want, u, s;
  if (get_number(h->chksum, sizeof h->chksum, &want) < 0) return 0;
  sums(h, &u, &s);
  return want == u || want == s; /* some old tars summed signed chars */
}

int is_zero_block(const void *b)
{
  const unsigned char *p = b;
  for (size_t i = 0; i < BLOCK; i++)
    if (p[i]) return 0;
  return 1;
}

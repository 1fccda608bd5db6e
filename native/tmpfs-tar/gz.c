/* gz.c: the gzip layer, with zlib: what `tar --gzip` gets from a gzip child process, done in-process. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "tt.h"

#define CHUNK (128 * 1024)

static z_stream wz;
static int wfd;
static unsigned char wbuf[CHUNK];
static uint64_t wtotal;

static void write_all(int fd, const unsigned char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("cannot write the archive: %s", w < 0 ? strerror(errno) : "short write");
    p += w;
    n -= (size_t)w;
    wtotal += (uint64_t)w;
  }
}

static void deflate_out(int flush)
{
  int r;
  do {
    wz.next_out = wbuf;
    wz.avail_out = CHUNK;
    r = deflate(&wz, flush);
    if (r == Z_STREAM_ERROR) die("gzip: deflate failed");
    write_all(wfd, wbuf, CHUNK - wz.avail_out);
  } while (wz.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
}

void gzw_init(int fd)
{
  wfd = fd;
  /* 15 + 16: a gzip wrapper, as gzip writes; level 6 is gzip's default */
  if (deflateInit2(&wz, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("gzip: cannot start deflate");
}

void gzw_write(const void *p, size_t n)
{
  wz.next_in = (unsigned char *)p;
  wz.avail_in = (uInt)n;
  while (wz.avail_in > 0) deflate_out(Z_NO_FLUSH);
}

void gzw_finish(void)
{
  wz.next_in = NULL;
  wz.avail_in = 0;
  deflate_out(Z_FINISH);
  deflateEnd(&wz);
}

uint64_t gzw_total(void)
{
  return wtotal;
}

static z_stream rz;
static int rfd;
static unsigned char rbuf[CHUNK];
static int rdone, rstarted;

void gzr_init(int fd)
{
  /* again for a second pass, from wherever fd now is */
  if (rstarted) inflateEnd(&rz);
  memset(&rz, 0, sizeof rz);
  rfd = fd;
  rdone = 0;
  if (inflateInit2(&rz, 15 + 16) != Z_OK) die("gzip: cannot start inflate");
  rstarted = 1;
}

size_t gzr_read(void *p, size_t n)
{
  rz.next_out = p;
  rz.avail_out = (uInt)n;
  while (rz.avail_out > 0) {
    if (rdone) {
      if (rz.avail_out == n) return 0;
      die("unexpected end of the archive");
    }
    if (rz.avail_in == 0) {
      ssize_t r = read(rfd, rbuf, CHUNK);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) die("cannot read the archive: %s", strerror(errno));
      if (r == 0) die("unexpected end of the gzip stream");
      rz.next_in = rbuf;
      rz.avail_in = (uInt)r;
    }
    int z = inflate(&rz, Z_NO_FLUSH);
    if (z == Z_STREAM_END) {
      /* gzip -d reads concatenated members as one stream */
      if (rz.avail_in == 0) {
        ssize_t r;
        do r = read(rfd, rbuf, CHUNK); while (r < 0 && errno == EINTR);
        if (r < 0) die("cannot read the archive: %s", strerror(errno));
        rz.next_in = rbuf;
        rz.avail_in = (uInt)r;
      }
      if (rz.avail_in == 0) rdone = 1;
      else if (inflateReset(&rz) != Z_OK) die("gzip: cannot read the next member");
    } else if (z != Z_OK && z != Z_BUF_ERROR) die("gzip: %s", rz.msg ? rz.msg : "invalid compressed data");
  }
  return n;
}

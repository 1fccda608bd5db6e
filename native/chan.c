/* chan.c: frames on the sync socket (see proto.h), and the helper's two ways of reporting: log_msg and die.
 *
 * Every send uses MSG_NOSIGNAL: the peer may be gone (`ocirt create` exits after READY), and the helper must
 * not ignore SIGPIPE instead, because an ignored disposition would survive execve into the container.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

#define MESSAGE_MAX 1024
#define STEP_MAX 64

static int sync_fd = -1;

void chan_init(int fd)
{
  sync_fd = fd;
}

void chan_close(void)
{
  close(sync_fd);
  sync_fd = -1;
}

static int send_all(const void *buf, size_t len)
{
  const unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = send(sync_fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    p += n, len -= (size_t)n;
  }
  return 0;
}

int chan_send(enum frame_type type, const void *payload, uint32_t len)
{
  unsigned char header[FRAME_HEADER_LEN] = {(unsigned char)type, (unsigned char)(type >> 8), 0, 0};
  put_le32(header + 4, len);
  if (sync_fd < 0) return errno = EBADF, -1;
  if (send_all(header, sizeof header) < 0) return -1;
  return len ? send_all(payload, len) : 0;
}

void chan_send_u32(enum frame_type type, uint32_t value)
{
  unsigned char payload[4];
  put_le32(payload, value);
  if (chan_send(type, payload, sizeof payload) < 0) die("sync", errno, "sending frame %d", type);
}

static void recv_all(void *buf, size_t len)
{
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = recv(sync_fd, p, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("sync", errno, "reading the sync socket");
    if (n == 0) die("sync", EPIPE, "the sync socket closed in the middle of the protocol");
    p += n, len -= (size_t)n;
  }
}

static uint32_t recv_header(enum frame_type want)
{
  unsigned char header[FRAME_HEADER_LEN];
  recv_all(header, sizeof header);
  unsigned type = header[0] | header[1] << 8;
  uint32_t len = get_le32(header + 4);
  if (type != (unsigned)want) die("sync", EPROTO, "expected frame %d, got frame %u", want, type);
  if (len > FRAME_MAX_PAYLOAD) die("sync", EPROTO, "frame %u is %u bytes long", type, len);
  return len;
}

unsigned char *chan_recv(enum frame_type want, uint32_t *len)
{
  *len = recv_header(want);
  unsigned char *payload = malloc(*len + 1);
  if (!payload) die("sync", ENOMEM, "allocating %u bytes for frame %d", *len, want);
  recv_all(payload, *len);
  payload[*len] = 0;
  return payload;
}

void chan_expect(enum frame_type want)
{
  unsigned char scratch[256];
  for (uint32_t left = recv_header(want); left > 0;) {
    uint32_t n = left < sizeof scratch ? left : sizeof scratch;
    recv_all(scratch, n);
    left -= n;
  }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
  unsigned char payload[4 + MESSAGE_MAX];
  va_list ap;
  put_le32(payload, level);
  va_start(ap, fmt);
  vsnprintf((char *)payload + 4, MESSAGE_MAX, fmt, ap);
  va_end(ap);
  (void)chan_send(FRAME_LOG, payload, 4 + (uint32_t)strlen((char *)payload + 4) + 1);
}

/* ERROR frame, or a line on stderr when nobody listens any more (after READY, `ocirt create` is gone and
 * stderr is the container's, which is where `runc` users look for a failed start). */
_Noreturn void die(const char *step, int err, const char *fmt, ...)
{
  char message[MESSAGE_MAX];
  unsigned char payload[4 + STEP_MAX + MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);

  size_t step_len = strnlen(step, STEP_MAX - 1), message_len = strlen(message);
  put_le32(payload, (uint32_t)err);
  memcpy(payload + 4, step, step_len);
  payload[4 + step_len] = 0;
  memcpy(payload + 5 + step_len, message, message_len + 1);
  if (chan_send(FRAME_ERROR, payload, (uint32_t)(5 + step_len + message_len + 1)) < 0)
    dprintf(2, "ocirt-init: %s: %s%s%s\n", step, message, err ? ": " : "", err ? strerror(err) : "");
  _exit(1);
}

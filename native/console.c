/* console.c: the container's terminal. The pty comes from the container's own devpts (opened after
 * pivot_root), its slave becomes the controlling terminal and fds 0-2, and the master leaves the container:
 * over the console socket (runc's protocol: one message, the slave's path as data, the master as SCM_RIGHTS)
 * or, without a socket, announced by number in a CONSOLE frame for ocirt to take with pidfd_getfd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

/* Connected by stage0, before any namespace is joined, so the path is the host's. */
int console_socket_connect(const struct plan *p)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (!p->console_socket) return -1;
  if (strlen(p->console_socket) >= sizeof addr.sun_path)
    die("console socket", ENAMETOOLONG, "%s", p->console_socket);
  strcpy(addr.sun_path, p->console_socket);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("console socket", errno, "socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    die("console socket", errno, "connect %s", p->console_socket);
  return fd;
}

static void send_master(int sock, int master, const char *slave_path)
{
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control = {0};
  struct iovec iov = {.iov_base = (void *)slave_path, .iov_len = strlen(slave_path)};
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf,
  };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) die("console socket", errno, "send the pty master");
}

/* Opens a pty pair; returns the master, the slave in *slave and its in-container path in slave_path. */
static int open_pty(int *slave, char *slave_path, size_t size)
{
  int unlock = 0;
  unsigned index;
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("terminal", errno, "open /dev/ptmx");
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("terminal", errno, "unlock the pty");
  if (ioctl(master, TIOCGPTN, &index) < 0) die("terminal", errno, "get the pty number");
  snprintf(slave_path, size, "/dev/pts/%u", index);
  /* TIOCGPTPEER opens the slave of this very master, whatever /dev/pts/N the mount table shows. */
  *slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0) die("terminal", errno, "open the slave of %s", slave_path);
  return master;
}

/* The spec's default devices: with a terminal, the container's /dev/console is its pty slave, bind-mounted
 * (the init only; exec'd processes get a pty of their own and leave /dev/console as it is). */
static void bind_console(const char *slave_path)
{
  struct stat st;
  if (lstat("/dev/console", &st) < 0) {
    if (errno != ENOENT) die("terminal", errno, "stat /dev/console");
    int fd = open("/dev/console", O_CREAT | O_EXCL | O_WRONLY | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0) die("terminal", errno, "create /dev/console");
    close(fd);
  }
  if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
    die("terminal", errno, "bind %s onto /dev/console", slave_path);
}

void console_setup(const struct plan *p, int console_socket)
{
  char slave_path[32];
  int slave;
  if (!p->terminal) return;
  int master = open_pty(&slave, slave_path, sizeof slave_path);
  if (plan_has(p, ATTR_CONSOLE_SIZE)) {
    struct winsize size = {.ws_row = (unsigned short)p->rows, .ws_col = (unsigned short)p->cols};
    if (ioctl(slave, TIOCSWINSZ, &size) < 0) die("terminal", errno, "set the window size");
  }
  if (p->mode == PLAN_MODE_INIT) bind_console(slave_path);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die("terminal", errno, "make %s the controlling terminal", slave_path);
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0) die("terminal", errno, "dup2 the pty slave onto %d", fd);
  if (slave > 2) close(slave);

  if (console_socket >= 0) {
    send_master(console_socket, master, slave_path);
    close(console_socket);
  } else {
    chan_send_u32(FRAME_CONSOLE, (uint32_t)master);
    chan_expect(FRAME_ACK);
  }
  close(master);
}

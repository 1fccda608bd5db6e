/* net.c: the loopback device of a new network namespace, up, as runc leaves it: a container that talks to
 * itself over 127.0.0.1 or ::1 works without a network hook. A namespace the container joins is left as it is. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

void net_loopback_up(const struct plan *p)
{
  if (!p->loopback_up) return;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("loopback", errno, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) die("loopback", errno, "get the flags of lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) die("loopback", errno, "bring lo up");
  close(fd);
}

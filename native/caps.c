/* caps.c: who the container process becomes: groups, gid, uid and capability sets.
 *
 * Order matters. Dropping from the bounding set needs CAP_SETPCAP in the effective set, and setresuid to a
 * non-zero uid empties the effective set, so the bounding set goes first. PR_SET_KEEPCAPS keeps the
 * permitted set across the uid change, and capset then sets the final sets from it; ambient capabilities
 * can only be raised once they are both permitted and inheritable, so they come last.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

static gid_t groups[PLAN_MAX_GIDS];

static int enters_user_namespace(const struct plan *p)
{
  if (p->clone_flags & CLONE_NEWUSER) return 1;
  for (uint32_t i = 0; i < p->n_ns_joins; i++)
    if (p->ns_joins[i].nstype == CLONE_NEWUSER) return 1;
  return 0;
}

/* A process entering a user namespace keeps the host ids it had, which the namespace does not map: files it
 * creates fail with EOVERFLOW, and a pty it opens belongs to nobody it could chown. It becomes the
 * namespace's root first (the maps are written by the time GO arrives). */
void caps_become_userns_root(const struct plan *p)
{
  if (!enters_user_namespace(p)) return;
  if (p->setgroups_allowed && setgroups(0, NULL) < 0) die("user namespace", errno, "setgroups(0)");
  if (setresgid(0, 0, 0) < 0) die("user namespace", errno, "setresgid(0) in the user namespace");
  if (setresuid(0, 0, 0) < 0) die("user namespace", errno, "setresuid(0) in the user namespace");
}

/* The container user must be able to reopen its own stdio through /proc/self/fd (/dev/stdout), and that
 * checks the inode's owner: pipes, sockets and the container's own pty are handed to it. Regular files and
 * a terminal that is not the container's belong to whoever started us and are left alone; owners a user
 * namespace does not map cannot be changed (EPERM, EINVAL) and are left alone too. */
static void give_stdio_to_user(const struct plan *p)
{
  struct stat st;
  for (int fd = 0; fd <= 2; fd++) {
    if (fstat(fd, &st) < 0 || st.st_uid == p->uid) continue;
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) && !(p->terminal && S_ISCHR(st.st_mode))) continue;
    if (fchown(fd, p->uid, st.st_gid) < 0 && errno != EPERM && errno != EINVAL)
      die("stdio", errno, "chown fd %d to %u", fd, p->uid);
  }
}

static void drop_bounding_set(uint64_t keep)
{
  for (int cap = 0; cap < 64; cap++) {
    int held = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (held < 0) break; /* EINVAL past the kernel's last capability */
    if (held && !((keep >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      die("capabilities", errno, "drop capability %d from the bounding set", cap);
  }
}

/* Without ADDITIONAL_GIDS the supplementary groups are emptied; where setgroups is denied (a user
 * namespace made without privilege) they are left alone. */
static void set_groups(const struct plan *p)
{
  if (!p->setgroups_allowed) return;
  for (uint32_t i = 0; i < p->n_gids; i++) groups[i] = get_le32(p->gids + 4 * i);
  if (setgroups(p->n_gids, groups) < 0) die("setgroups", errno, "setgroups(%u groups)", p->n_gids);
}

static void set_capabilities(const struct plan *p)
{
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
    data[i].effective = (uint32_t)(p->cap_effective >> (32 * i));
    data[i].permitted = (uint32_t)(p->cap_permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(p->cap_inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) < 0)
    die("capabilities", errno, "capset(effective %#llx, permitted %#llx, inheritable %#llx)",
        (unsigned long long)p->cap_effective, (unsigned long long)p->cap_permitted,
        (unsigned long long)p->cap_inheritable);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    die("capabilities", errno, "clear the ambient set");
  for (int cap = 0; cap < 64; cap++)
    if (((p->cap_ambient >> cap) & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      die("capabilities", errno, "raise ambient capability %d", cap);
}

void caps_set_identity(const struct plan *p)
{
  int has_caps = plan_has(p, ATTR_CAPS);
  if (has_caps) drop_bounding_set(p->cap_bounding);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die("capabilities", errno, "PR_SET_KEEPCAPS");
  set_groups(p);
  if (plan_has(p, ATTR_UID)) give_stdio_to_user(p);
  if (plan_has(p, ATTR_GID) && setresgid(p->gid, p->gid, p->gid) < 0) die("setresgid", errno, "gid %u", p->gid);
  if (plan_has(p, ATTR_UID) && setresuid(p->uid, p->uid, p->uid) < 0) die("setresuid", errno, "uid %u", p->uid);
  if (has_caps) set_capabilities(p);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) die("capabilities", errno, "clear PR_SET_KEEPCAPS");
}

/* rootfs.c: entering the rootfs (pivot_root, or MS_MOVE + chroot) and locking it down afterwards: masked
 * paths, read-only paths, a read-only root. All paths here are in-container paths, after the switch. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

/* pivot_root(".", ".") stacks the old root on top of the new one, at "/", so no put_old directory is needed
 * inside the image; then the old root is detached from under us. */
static void pivot_into_cwd(void)
{
  int old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (old_root < 0) die("pivot_root", errno, "open /");
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root", errno, "pivot_root(\".\", \".\")");
  /* The kernel does not promise where the cwd is after pivot_root: go to the old root explicitly. */
  if (fchdir(old_root) < 0) die("pivot_root", errno, "fchdir to the old root");
  /* rslave first, so that detaching the old root's mounts cannot propagate to the host. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) die("pivot_root", errno, "make the old root rslave");
  if (umount2(".", MNT_DETACH) < 0) die("pivot_root", errno, "detach the old root");
  close(old_root);
  if (chdir("/") < 0) die("pivot_root", errno, "chdir /");
}

/* For a rootfs pivot_root refuses (an initramfs has no parent mount to pivot away from). */
static void move_into_cwd(void)
{
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) die("move root", errno, "move the rootfs onto /");
  if (chroot(".") < 0) die("move root", errno, "chroot");
  if (chdir("/") < 0) die("move root", errno, "chdir /");
}

void rootfs_enter(const struct plan *p)
{
  if (chdir(p->rootfs) < 0) die("pivot_root", errno, "chdir %s", p->rootfs);
  /* pivot_root(".", ".") makes the new root its own put_old, which must not be a shared mount. */
  if (mount(NULL, ".", NULL, MS_PRIVATE, NULL) < 0) die("pivot_root", errno, "make %s private", p->rootfs);
  if (p->no_pivot) move_into_cwd();
  else pivot_into_cwd();
  if (p->propagation_post && mount(NULL, "/", NULL, p->propagation_post, NULL) < 0)
    die("mount /", errno, "set root propagation %#llx", (unsigned long long)p->propagation_post);
}

/* A directory is hidden under an empty read-only tmpfs, anything else under /dev/null. */
void rootfs_mask_paths(const struct plan *p)
{
  for (uint32_t i = 0; i < p->n_masks; i++) {
    const char *path = p->masks[i];
    struct stat st;
    if (stat(path, &st) < 0) {
      if (errno == ENOENT) continue;
      die("mask", errno, "stat %s", path);
    }
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
                                 : mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (rc < 0) die("mask", errno, "mask %s", path);
  }
}

/* The read-only remount keeps nosuid, nodev and noexec: making a path read-only must not loosen it. */
void rootfs_readonly_paths(const struct plan *p)
{
  struct statvfs st;
  for (uint32_t i = 0; i < p->n_readonly; i++) {
    const char *path = p->readonly[i];
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
      if (errno == ENOENT) continue;
      die("readonly", errno, "bind %s onto itself", path);
    }
    if (statvfs(path, &st) < 0) die("readonly", errno, "statvfs %s", path);
    remount_bind(path, path, MS_RDONLY | (st.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC)));
  }
}

void rootfs_readonly_root(const struct plan *p)
{
  if (p->root_readonly) remount_bind("/", "/", MS_RDONLY);
}

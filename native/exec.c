/* exec.c: the last mile of the container process: names, keyring, working directory, finding argv[0],
 * the exec fifo, and execve itself. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

void exec_set_names(const struct plan *p)
{
  if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
    die("sethostname", errno, "%s", p->hostname);
  if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
    die("setdomainname", errno, "%s", p->domainname);
}

/* A fresh session keyring, so the container cannot reach the keys of the session that started it. */
void exec_join_session_keyring(const struct plan *p)
{
  if (!p->session_keyring) return;
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, p->session_keyring) >= 0) return;
  if (errno != ENOSYS) die("keyring", errno, "join session keyring %s", p->session_keyring);
  log_msg(LOG_LEVEL_WARN, "no keyring support: the session keyring is shared");
}

/* Stage0 makes the fifo, while paths are still the host's. 0622: the container process, whatever uid it
 * runs as, must be able to reopen it for writing (mkfifo's mode would pass through the umask). */
int exec_fifo_create(const struct plan *p)
{
  if (!p->fifo_path) return -1;
  if (mkfifo(p->fifo_path, 0622) < 0) die("exec fifo", errno, "mkfifo %s", p->fifo_path);
  if (chmod(p->fifo_path, 0622) < 0) die("exec fifo", errno, "chmod %s", p->fifo_path);
  int fd = open(p->fifo_path, O_PATH | O_CLOEXEC);
  if (fd < 0) die("exec fifo", errno, "open %s", p->fifo_path);
  return fd;
}

/* Blocks until `ocirt start` opens the read end. Reopening the O_PATH fd through /proc works from inside the
 * rootfs, where the host path is not visible. The write end stays open (O_CLOEXEC) through the startContainer
 * hooks until execve closes it: `ocirt start` reads up to that EOF, so its poststart hooks run after the
 * user's process was executed, as the spec asks. */
int exec_fifo_wait(int fifo_fd)
{
  char path[32];
  int fd;
  snprintf(path, sizeof path, "/proc/self/fd/%d", fifo_fd);
  while ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
    if (errno != EINTR) die("exec fifo", errno, "open %s", path);
  if (write(fd, "0", 1) != 1) die("exec fifo", errno, "write to the exec fifo");
  close(fifo_fd);
  return fd;
}

/* After the startContainer hooks passed: `start` succeeds only if it reads this byte before the EOF that
 * execve (close-on-exec) produces; a failed hook kills the init without it. */
void exec_fifo_confirm(int fd)
{
  if (fd >= 0 && write(fd, "1", 1) != 1) die("exec fifo", errno, "confirm the start on the exec fifo");
}

/* Tried before the identity change (a cwd only root may enter) and, if refused, again after it (a cwd root
 * may not enter, as on root-squashed NFS). */
void exec_chdir(const struct plan *p, int after_identity)
{
  static int done;
  if (!p->cwd || done) return;
  if (chdir(p->cwd) == 0) {
    done = 1;
    return;
  }
  if (after_identity || (errno != EACCES && errno != EPERM)) die("chdir", errno, "chdir to the cwd %s", p->cwd);
}

static const char *env_path(const struct plan *p)
{
  for (uint32_t i = 0; i < p->n_env; i++)
    if (!strncmp(p->envp[i], "PATH=", 5)) return p->envp[i] + 5;
  return "";
}

static int is_executable(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111);
}

/* Finds argv[0] before READY, so a missing program fails `create` as it does with runc, with runc's words
 * (engines match "executable file not found" to exit 127). */
const char *exec_lookup(const struct plan *p)
{
  static char found[PATH_MAX];
  const char *name = p->argv[0];
  struct stat st;
  if (!name) die("exec", EINVAL, "no process arguments");
  if (strchr(name, '/')) {
    if (stat(name, &st) < 0) die("exec", errno, "\"%s\": stat %s", name, name);
    if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) die("exec", EACCES, "\"%s\"", name); /* TS adds the errno words */
    return name;
  }
  for (const char *dir = env_path(p), *end; *dir; dir = *end ? end + 1 : end) {
    end = dir + strcspn(dir, ":");
    int len = end == dir ? snprintf(found, sizeof found, "./%s", name)
                         : snprintf(found, sizeof found, "%.*s/%s", (int)(end - dir), dir, name);
    if (len > 0 && (size_t)len < sizeof found && is_executable(found)) return found;
  }
  die("exec", ENOENT, "\"%s\": executable file not found in $PATH", name);
}

/* Only stdio and the preserved fds may reach the container (CVE-2024-21626: a leaked fd of a host directory
 * is a way out of the rootfs). Called before the seccomp filter is loaded, so the filter need not allow
 * close_range; every fd the helper opens afterwards is O_CLOEXEC. */
void exec_mark_cloexec(const struct plan *p)
{
  if (close_range(3 + p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    die("close_range", errno, "mark fds from %u close-on-exec", 3 + p->preserve_fds);
}

_Noreturn void exec_container(const struct plan *p, const char *path)
{
  execve(path, p->argv, p->envp);
  die("exec", errno, "exec %s", path);
}

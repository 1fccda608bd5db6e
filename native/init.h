/* init.h: what each file of ocirt-init offers the others. */
#ifndef OCIRT_INIT_H
#define OCIRT_INIT_H

#include <stdint.h>
#include <sys/types.h>

#include "plan.h"
#include "proto.h"

#define OCIRT_PRINTF(f, a) __attribute__((format(printf, f, a)))

static inline uint32_t get_le32(const unsigned char *b)
{
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t get_le64(const unsigned char *b)
{
  return (uint64_t)get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
}

static inline void put_le32(unsigned char *b, uint32_t v)
{
  for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}

/* chan.c: frames on the sync socket; log and die report through it */
void chan_init(int fd);
void chan_close(void);
int chan_send(enum frame_type type, const void *payload, uint32_t len);
void chan_send_u32(enum frame_type type, uint32_t value);
unsigned char *chan_recv(enum frame_type want, uint32_t *len); /* malloc'd payload, NUL-terminated */
void chan_expect(enum frame_type want);                        /* a frame whose payload is ignored */
void log_msg(enum log_level level, const char *fmt, ...) OCIRT_PRINTF(2, 3);
_Noreturn void die(const char *step, int err, const char *fmt, ...) OCIRT_PRINTF(3, 4);

/* ns.c: stage0 up to the clone, and stage0's wait */
int write_file(const char *path, const char *value); /* -1 with errno on failure */
void ns_set_rlimits(const struct plan *p);
void ns_write_oom_score_adj(const struct plan *p);
void ns_join_cgroups(const struct plan *p);
void ns_leave_cgroups(const struct plan *p);
void ns_join(const struct plan *p);
void ns_unshare_time(const struct plan *p);
pid_t ns_clone_stage1(const struct plan *p);
_Noreturn void ns_wait_and_mirror(pid_t child);

/* mount.c: before pivot_root, relative to the rootfs; sysctl after it */
void mount_prepare_rootfs(const struct plan *p);
void mount_run_steps(const struct plan *p);
void mount_write_sysctls(const struct plan *p);
void remount_bind(const char *path, const char *what, uint64_t flags); /* repeats locked flags on EPERM */

/* rootfs.c: entering the rootfs and locking it down */
void rootfs_enter(const struct plan *p);
void rootfs_mask_paths(const struct plan *p);
void rootfs_readonly_paths(const struct plan *p);
void rootfs_readonly_root(const struct plan *p);

/* console.c */
int console_socket_connect(const struct plan *p);
void console_setup(const struct plan *p, int console_socket);

/* caps.c */
void caps_become_userns_root(const struct plan *p);
void caps_set_identity(const struct plan *p);

/* seccomp.c */
void seccomp_set_no_new_privs(const struct plan *p);
void seccomp_load(const struct plan *p);

/* sched.c */
void sched_initial_affinity(const struct plan *p);
void sched_apply(const struct plan *p);

/* hooks.c */
void hooks_run_start(const struct plan *p, const unsigned char *state, uint32_t state_len);

/* exec.c */
void exec_set_names(const struct plan *p);
void net_loopback_up(const struct plan *p);
void exec_join_session_keyring(const struct plan *p);
int exec_fifo_create(const struct plan *p);
int exec_fifo_wait(int fifo_fd);
void exec_fifo_confirm(int fd);
void exec_chdir(const struct plan *p, int after_identity);
const char *exec_lookup(const struct plan *p);
void exec_mark_cloexec(const struct plan *p);
_Noreturn void exec_container(const struct plan *p, const char *path);


#endif

/* plan.h: attribute ids of the init plan (the payload of FRAME_PLAN) and the decoded plan.
 * Mirrors ATTR in src/core/init/codec.ts; test/unit/init/ids.test.ts checks both agree.
 *
 * The plan is a sequence of attributes: u16 type | u16 flags (0) | u32 len | len bytes, little-endian,
 * no padding. Value encodings (see docs/init-protocol.md): U32/U64 little-endian integers; STR bytes plus
 * a terminating NUL (len counts the NUL); composite attributes are fixed integers first, then strings.
 * Attributes marked "repeated" may appear many times and keep their order.
 */
#ifndef OCIRT_PLAN_H
#define OCIRT_PLAN_H

#include <stdint.h>

enum plan_attr {
  ATTR_MODE = 1,             /* U32: PLAN_MODE_INIT or PLAN_MODE_EXEC */
  ATTR_CLONE_FLAGS = 2,      /* U64: CLONE_NEW* for new namespaces (CLONE_NEWTIME handled by unshare in stage0) */
  ATTR_NS_JOIN = 3,          /* repeated: U32 nstype (CLONE_NEW*), STR path; setns in this order in stage0 */
  ATTR_RLIMIT = 4,           /* repeated: U32 resource, U64 soft, U64 hard; setrlimit in stage0 */
  ATTR_OOM_SCORE_ADJ = 5,    /* STR: written to /proc/self/oom_score_adj in stage0 */
  ATTR_TIMENS_OFFSETS = 6,   /* STR: written to /proc/self/timens_offsets after unshare(CLONE_NEWTIME) */
  ATTR_DETACH = 7,           /* U32: 1 = clone with CLONE_PARENT and stage0 exits after PID; 0 = stage0 waits
                                for stage1 and exits with its code (128+signal when killed) */
  ATTR_FIFO_PATH = 8,        /* STR: stage0 mkfifo(path, 0622) + open O_PATH; stage1 waits on it before execve */
  ATTR_CONSOLE_SOCKET = 9,   /* STR: unix socket path; stage0 connects; stage1 sends the pty master (SCM_RIGHTS) */
  ATTR_TERMINAL = 10,        /* U32: 1 = allocate a pty in the container; slave becomes fds 0-2 */
  ATTR_CONSOLE_SIZE = 11,    /* U32 rows, U32 cols: TIOCSWINSZ on the pty */
  ATTR_HOSTNAME = 12,        /* STR */
  ATTR_DOMAINNAME = 13,      /* STR */
  ATTR_ROOTFS = 14,          /* STR: absolute host path of the root filesystem */
  ATTR_ROOT_PROPAGATION = 15,/* U64 pre, U64 post: mount(NULL,"/",flags) before mounts (pre) and after pivot (post, 0 = none) */
  ATTR_MOUNT = 16,           /* repeated: U64 flags, U64 remount_flags, U64 propagation, U32 mkflags,
                                STR source, STR target (in-container absolute), STR fstype, STR data */
  ATTR_DEVICE = 17,          /* repeated: U32 type (S_IFCHR/S_IFBLK/S_IFIFO), U32 major, U32 minor, U32 mode,
                                U32 uid, U32 gid, U32 bind, STR path (in container), STR source (host, when bind) */
  ATTR_SYMLINK = 18,         /* repeated: STR target, STR linkpath (in container) */
  ATTR_MASK = 19,            /* repeated: STR path (after pivot; dir -> ro tmpfs, else bind /dev/null; ENOENT ok) */
  ATTR_READONLY = 20,        /* repeated: STR path (after pivot; rbind onto itself, remount ro; ENOENT ok) */
  ATTR_ROOT_READONLY = 21,   /* U32: 1 = remount / read-only after pivot */
  ATTR_SYSCTL = 22,          /* repeated: STR key (dotted), STR value; written under /proc/sys after pivot */
  ATTR_ARG = 23,             /* repeated: STR argv element */
  ATTR_ENV = 24,             /* repeated: STR "KEY=value" */
  ATTR_CWD = 25,             /* STR: in-container working directory */
  ATTR_UID = 26,             /* U32; also given stdio pipes, sockets and the pty (docs: stdio hand-over) */
  ATTR_GID = 27,             /* U32 */
  ATTR_ADDITIONAL_GIDS = 28, /* U32 array (len / 4 entries); absent = setgroups(0, NULL) unless in a rootless userns */
  ATTR_UMASK = 29,           /* U32 */
  ATTR_CAPS = 30,            /* U64 bounding, U64 effective, U64 permitted, U64 inheritable, U64 ambient */
  ATTR_NO_NEW_PRIVS = 31,    /* U32 */
  ATTR_SECCOMP = 32,         /* U32 flags (SECCOMP_FILTER_FLAG_*), then raw struct sock_filter[] */
  ATTR_PRESERVE_FDS = 33,    /* U32 n: fds 3..3+n-1 stay open across execve */
  ATTR_SESSION_KEYRING = 34, /* STR: join a new session keyring of this name (absent = keep the caller's) */
  ATTR_START_HOOK = 35,      /* repeated: U32 timeout_s (0 = none), U32 nargs, U32 nenv, STR path, STR args..., STR env... */
  ATTR_NO_PIVOT = 36,        /* U32: 1 = MS_MOVE + chroot instead of pivot_root */
  ATTR_SETGROUPS_ALLOWED = 37,/* U32: 0 = setgroups is denied in this userns (rootless): skip setgroups */
  ATTR_PERSONALITY = 38,     /* U32: personality(2) domain */
  ATTR_SYNC_FD = 39,         /* reserved: the sync fd is passed on the command line, not in the plan */
  ATTR_FIFO_FD = 40,         /* reserved: stage0 creates the fifo from FIFO_PATH (no --fifo-fd) */
  ATTR_CGROUP_PROCS = 41,    /* repeated: STR path of a cgroup.procs file; stage0 writes "0" to each before it
                                joins namespaces and clones, so the container starts inside its cgroups */
  ATTR_CGROUP_LEAVE = 42,    /* repeated: STR path of a cgroup.procs file a foreground stage0 moves back to after
                                the clone, so only the container's own processes stay in its cgroups */
  ATTR_IOPRIO = 43,          /* U32: ioprio_set(IOPRIO_WHO_PROCESS, 0, value) in stage1 before the identity change */
  ATTR_SCHED = 44,           /* U32 policy, U32 nice (int32), U32 priority, U64 flags, U64 runtime, U64 deadline,
                                U64 period: sched_setattr(0) in stage1 before the identity change */
  ATTR_CPU_AFFINITY_INITIAL = 45, /* raw cpu_set_t bytes (a multiple of 8, at most PLAN_MAX_CPU_MASK): stage0's
                                sched_setaffinity before it joins the cgroups (exec) */
  ATTR_CPU_AFFINITY_FINAL = 46,   /* raw cpu_set_t bytes: stage1's sched_setaffinity before the identity change */
  ATTR_LOOPBACK_UP = 47,     /* U32: 1 = bring "lo" up in the new network namespace (stage1, after GO) */
};

enum plan_mode {
  PLAN_MODE_INIT = 1,  /* a new container's init: namespaces, mounts, pivot, exec fifo */
  PLAN_MODE_EXEC = 2,  /* a process joining an existing container: setns, no mounts, no fifo */
};

/* mkflags of ATTR_MOUNT */
#define MOUNT_MK_DIR 1u   /* create the target as a directory (and its parents) when missing */
#define MOUNT_MK_FILE 2u  /* create the target as an empty file (parents as directories) when missing */
#define MOUNT_NO_FOLLOW 4u/* reserved */

/* The decoded plan. Strings and byte arrays point into the plan buffer, which must outlive it. Repeated
 * attributes fill fixed arrays; a plan with more entries than a limit is rejected. */
#define PLAN_MAX_NS_JOINS 16
#define PLAN_MAX_RLIMITS 32
#define PLAN_MAX_MOUNTS 1024
#define PLAN_MAX_DEVICES 512
#define PLAN_MAX_SYMLINKS 128
#define PLAN_MAX_PATHS 256      /* each of MASK and READONLY */
#define PLAN_MAX_SYSCTLS 256
#define PLAN_MAX_ARGS 4096
#define PLAN_MAX_ENV 4096
#define PLAN_MAX_HOOKS 64
#define PLAN_MAX_GIDS 65536     /* NGROUPS_MAX */
#define PLAN_MAX_CGROUPS 32
#define PLAN_MAX_CPU_MASK 1024 /* bytes: 8192 CPUs */

struct plan_ns_join { uint32_t nstype; const char *path; };
struct plan_rlimit { uint32_t resource; uint64_t soft, hard; };
struct plan_mount {
  uint64_t flags, remount_flags, propagation;
  uint32_t mkflags;
  const char *source, *target, *fstype, *data;
};
struct plan_device {
  uint32_t type, major, minor, mode, uid, gid, bind;
  const char *path, *source;
};
struct plan_symlink { const char *target, *linkpath; };
struct plan_sysctl { const char *key, *value; };
struct plan_hook {
  uint32_t timeout_s, nargs, nenv;
  const char *path;
  const char *strings;  /* nargs then nenv NUL-terminated strings, back to back */
};

struct plan {
  uint64_t present;  /* bit (1 << ATTR_x) for every attribute seen */
  uint32_t mode, detach, terminal, rows, cols, root_readonly, no_pivot, no_new_privs, preserve_fds;
  uint32_t setgroups_allowed, personality, umask, uid, gid, loopback_up;
  uint64_t clone_flags, propagation_pre, propagation_post;
  uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
  const char *oom_score_adj, *timens_offsets, *fifo_path, *console_socket, *hostname, *domainname;
  const char *rootfs, *cwd, *session_keyring;
  const unsigned char *gids;  /* n_gids little-endian u32, possibly unaligned */
  const void *seccomp_bpf;    /* struct sock_filter[seccomp_len], possibly unaligned */
  uint32_t n_gids, seccomp_flags, seccomp_len;
  uint32_t ioprio, sched_policy, sched_priority;
  int32_t sched_nice;
  uint64_t sched_flags, sched_runtime, sched_deadline, sched_period;
  const unsigned char *affinity_initial, *affinity_final; /* possibly unaligned */
  uint32_t affinity_initial_len, affinity_final_len;

  uint32_t n_ns_joins, n_rlimits, n_mounts, n_devices, n_symlinks, n_masks, n_readonly, n_sysctls;
  uint32_t n_args, n_env, n_hooks, n_cgroup_procs, n_cgroup_leave;
  struct plan_ns_join ns_joins[PLAN_MAX_NS_JOINS];
  struct plan_rlimit rlimits[PLAN_MAX_RLIMITS];
  struct plan_mount mounts[PLAN_MAX_MOUNTS];
  struct plan_device devices[PLAN_MAX_DEVICES];
  struct plan_symlink symlinks[PLAN_MAX_SYMLINKS];
  const char *masks[PLAN_MAX_PATHS];
  const char *readonly[PLAN_MAX_PATHS];
  struct plan_sysctl sysctls[PLAN_MAX_SYSCTLS];
  struct plan_hook hooks[PLAN_MAX_HOOKS];
  const char *cgroup_procs[PLAN_MAX_CGROUPS];
  const char *cgroup_leave[PLAN_MAX_CGROUPS];
  char *argv[PLAN_MAX_ARGS + 1];  /* NULL-terminated, ready for execve */
  char *envp[PLAN_MAX_ENV + 1];
};

static inline int plan_has(const struct plan *p, enum plan_attr attr) { return (p->present >> attr) & 1; }

/* One field of an attribute as read, before it is stored in struct plan. */
struct plan_field {
  uint64_t num;               /* u32, u64; the count of a string list */
  const char *str;            /* a string; the first of a string list */
  const unsigned char *bytes; /* u32 array, raw bytes */
  uint32_t len;               /* their length in bytes */
};

/* Decode len bytes at buf into p (zeroed first). When trace is non-NULL it is called for every attribute
 * as decoded. Returns NULL on success, else a static message describing the first problem. */
typedef void plan_trace_fn(enum plan_attr attr, const struct plan_field *fields);
const char *plan_decode(struct plan *p, unsigned char *buf, uint32_t len, plan_trace_fn *trace);

/* The description of an attribute: its name and its fields as "kind:name ..." (see plan.c). */
const char *plan_attr_name(enum plan_attr attr);
const char *plan_attr_fields(enum plan_attr attr);
int plan_next_field(const char **spec, char *kind, int *ref, const char **name, int *name_len);

/* --decode-plan (plan_json.c): read a plan from stdin, print one JSON object per attribute; the exit code. */
int plan_print_stdin(void);

#endif

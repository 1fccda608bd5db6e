/* proto.h: frame types on the sync socket between ocirt (TS) and ocirt-init.
 * Mirrors FRAME in src/core/init/protocol.ts; test/unit/init/ids.test.ts checks both agree.
 *
 * A frame is: u16 type | u16 flags (0) | u32 len | len bytes of payload, little-endian.
 */
#ifndef OCIRT_PROTO_H
#define OCIRT_PROTO_H

#define FRAME_HEADER_LEN 8
#define FRAME_MAX_PAYLOAD (16u << 20)

enum frame_type {
  FRAME_PLAN = 1,         /* TS -> C: the encoded plan (plan.h attributes) */
  FRAME_PID = 2,          /* C -> TS: u32 host pid of the container process (stage1) */
  FRAME_GO = 3,           /* TS -> C: cgroup joined, id maps written: stage1 may proceed */
  FRAME_HOOKS = 4,        /* C -> TS: mounts done, before pivot_root: run prestart/createRuntime/createContainer hooks */
  FRAME_HOOKS_DONE = 5,   /* TS -> C: payload = state JSON given to startContainer hooks on stdin */
  FRAME_CONSOLE = 6,      /* C -> TS: u32 fd number of the pty master inside stage1 (fetched with pidfd_getfd) */
  FRAME_ACK = 7,          /* TS -> C: the fd announced by CONSOLE or SECCOMP_FD has been taken */
  FRAME_SECCOMP_FD = 8,   /* C -> TS: u32 fd number of the seccomp notify listener inside stage1 */
  FRAME_READY = 9,        /* C -> TS: init: about to wait on the exec fifo; exec: about to execve */
  FRAME_LOG = 10,         /* C -> TS: u32 level, then text (NUL-terminated) */
  FRAME_ERROR = 11,       /* C -> TS: u32 errno, then step (NUL-terminated), then message (NUL-terminated) */
};

enum log_level {
  LOG_LEVEL_ERROR = 0,
  LOG_LEVEL_WARN = 1,
  LOG_LEVEL_INFO = 2,
  LOG_LEVEL_DEBUG = 3,
};

#endif

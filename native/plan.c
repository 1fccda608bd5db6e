/* plan.c: decode the TLV plan into struct plan.
 *
 * Every attribute is described once, in `specs` below, as a list of "kind:name" fields in encoding order
 * (u U32, U U64, s STR, lN as many STRs as the value of field N, g U32 array to the end, x raw bytes to the
 * end). The decoder reads the fields generically, then `store` places them in struct plan; --decode-plan
 * (plan_json.c) prints the same fields by the same names.
 */
#include <stdio.h>
#include <string.h>

#include "init.h"

#define MAX_FIELDS 10

static const struct attr_spec { const char *name, *fields; } specs[] = {
  [ATTR_MODE] = {"MODE", "u:value"},
  [ATTR_CLONE_FLAGS] = {"CLONE_FLAGS", "U:value"},
  [ATTR_NS_JOIN] = {"NS_JOIN", "u:nstype s:path"},
  [ATTR_RLIMIT] = {"RLIMIT", "u:resource U:soft U:hard"},
  [ATTR_OOM_SCORE_ADJ] = {"OOM_SCORE_ADJ", "s:value"},
  [ATTR_TIMENS_OFFSETS] = {"TIMENS_OFFSETS", "s:value"},
  [ATTR_DETACH] = {"DETACH", "u:value"},
  [ATTR_FIFO_PATH] = {"FIFO_PATH", "s:value"},
  [ATTR_CONSOLE_SOCKET] = {"CONSOLE_SOCKET", "s:value"},
  [ATTR_TERMINAL] = {"TERMINAL", "u:value"},
  [ATTR_CONSOLE_SIZE] = {"CONSOLE_SIZE", "u:rows u:cols"},
  [ATTR_HOSTNAME] = {"HOSTNAME", "s:value"},
  [ATTR_DOMAINNAME] = {"DOMAINNAME", "s:value"},
  [ATTR_ROOTFS] = {"ROOTFS", "s:value"},
  [ATTR_ROOT_PROPAGATION] = {"ROOT_PROPAGATION", "U:pre U:post"},
  [ATTR_MOUNT] = {"MOUNT", "U:flags U:remount_flags U:propagation u:mkflags s:source s:target s:fstype s:data"},
  [ATTR_DEVICE] = {"DEVICE", "u:type u:major u:minor u:mode u:uid u:gid u:bind s:path s:source"},
  [ATTR_SYMLINK] = {"SYMLINK", "s:target s:linkpath"},
  [ATTR_MASK] = {"MASK", "s:value"},
  [ATTR_READONLY] = {"READONLY", "s:value"},
  [ATTR_ROOT_READONLY] = {"ROOT_READONLY", "u:value"},
  [ATTR_SYSCTL] = {"SYSCTL", "s:key s:value"},
  [ATTR_ARG] = {"ARG", "s:value"},
  [ATTR_ENV] = {"ENV", "s:value"},
  [ATTR_CWD] = {"CWD", "s:value"},
  [ATTR_UID] = {"UID", "u:value"},
  [ATTR_GID] = {"GID", "u:value"},
  [ATTR_ADDITIONAL_GIDS] = {"ADDITIONAL_GIDS", "g:value"},
  [ATTR_UMASK] = {"UMASK", "u:value"},
  [ATTR_CAPS] = {"CAPS", "U:bounding U:effective U:permitted U:inheritable U:ambient"},
  [ATTR_NO_NEW_PRIVS] = {"NO_NEW_PRIVS", "u:value"},
  [ATTR_SECCOMP] = {"SECCOMP", "u:flags x:bpf"},
  [ATTR_PRESERVE_FDS] = {"PRESERVE_FDS", "u:value"},
  [ATTR_SESSION_KEYRING] = {"SESSION_KEYRING", "s:value"},
  [ATTR_START_HOOK] = {"START_HOOK", "u:timeout_s u:nargs u:nenv s:path l1:args l2:env"},
  [ATTR_NO_PIVOT] = {"NO_PIVOT", "u:value"},
  [ATTR_SETGROUPS_ALLOWED] = {"SETGROUPS_ALLOWED", "u:value"},
  [ATTR_PERSONALITY] = {"PERSONALITY", "u:value"},
  [ATTR_CGROUP_PROCS] = {"CGROUP_PROCS", "s:value"},
  [ATTR_CGROUP_LEAVE] = {"CGROUP_LEAVE", "s:value"},
  [ATTR_IOPRIO] = {"IOPRIO", "u:value"},
  [ATTR_SCHED] = {"SCHED", "u:policy u:nice u:priority U:flags U:runtime U:deadline U:period"},
  [ATTR_CPU_AFFINITY_INITIAL] = {"CPU_AFFINITY_INITIAL", "x:mask"},
  [ATTR_CPU_AFFINITY_FINAL] = {"CPU_AFFINITY_FINAL", "x:mask"},
  [ATTR_LOOPBACK_UP] = {"LOOPBACK_UP", "u:value"},
};

static char error_text[160];

static const char *plan_error(enum plan_attr attr, const char *what)
{
  snprintf(error_text, sizeof error_text, "%s: %s", specs[attr].name, what);
  return error_text;
}

const char *plan_attr_name(enum plan_attr attr) { return specs[attr].name; }
const char *plan_attr_fields(enum plan_attr attr) { return specs[attr].fields; }

/* Steps through a spec string: sets kind, the l reference, and the name; returns 0 at the end. */
int plan_next_field(const char **spec, char *kind, int *ref, const char **name, int *name_len)
{
  const char *s = *spec;
  if (!*s) return 0;
  *kind = *s++;
  *ref = *kind == 'l' ? *s++ - '0' : -1;
  *name = ++s; /* skip ':' */
  while (*s && *s != ' ') s++;
  *name_len = (int)(s - *name);
  *spec = *s ? s + 1 : s;
  return 1;
}

static const char *read_fields(enum plan_attr attr, const unsigned char *p, const unsigned char *end,
                               struct plan_field *f)
{
  const char *spec = specs[attr].fields, *name;
  char kind;
  int ref, name_len;
  for (int i = 0; plan_next_field(&spec, &kind, &ref, &name, &name_len); i++) {
    memset(&f[i], 0, sizeof f[i]);
    uint64_t count = kind == 'l' ? f[ref].num : 1;
    switch (kind) {
    case 'u':
      if (end - p < 4) return plan_error(attr, "truncated");
      f[i].num = get_le32(p), p += 4;
      break;
    case 'U':
      if (end - p < 8) return plan_error(attr, "truncated");
      f[i].num = get_le64(p), p += 8;
      break;
    case 's':
    case 'l':
      f[i].str = (const char *)p, f[i].num = count;
      for (uint64_t n = 0; n < count; n++) {
        const unsigned char *nul = memchr(p, 0, (size_t)(end - p));
        if (!nul) return plan_error(attr, "string without a terminating NUL");
        p = nul + 1;
      }
      break;
    case 'g':
      if ((end - p) % 4) return plan_error(attr, "length is not a multiple of 4");
      /* fallthrough */
    case 'x':
      f[i].bytes = p, f[i].len = (uint32_t)(end - p), p = end;
      break;
    }
  }
  return p == end ? NULL : plan_error(attr, "trailing bytes");
}

#define APPEND(array, count, max) (p->count < (max) ? &p->array[p->count++] : NULL)

static const char *store(struct plan *p, enum plan_attr attr, const struct plan_field *f)
{
  const char *s = f[0].str;
  uint32_t u = (uint32_t)f[0].num;
  switch (attr) {
  case ATTR_MODE: p->mode = u; break;
  case ATTR_CLONE_FLAGS: p->clone_flags = f[0].num; break;
  case ATTR_OOM_SCORE_ADJ: p->oom_score_adj = s; break;
  case ATTR_TIMENS_OFFSETS: p->timens_offsets = s; break;
  case ATTR_DETACH: p->detach = u; break;
  case ATTR_FIFO_PATH: p->fifo_path = s; break;
  case ATTR_CONSOLE_SOCKET: p->console_socket = s; break;
  case ATTR_TERMINAL: p->terminal = u; break;
  case ATTR_CONSOLE_SIZE: p->rows = u, p->cols = (uint32_t)f[1].num; break;
  case ATTR_HOSTNAME: p->hostname = s; break;
  case ATTR_DOMAINNAME: p->domainname = s; break;
  case ATTR_ROOTFS: p->rootfs = s; break;
  case ATTR_ROOT_PROPAGATION: p->propagation_pre = f[0].num, p->propagation_post = f[1].num; break;
  case ATTR_ROOT_READONLY: p->root_readonly = u; break;
  case ATTR_CWD: p->cwd = s; break;
  case ATTR_UID: p->uid = u; break;
  case ATTR_GID: p->gid = u; break;
  case ATTR_UMASK: p->umask = u; break;
  case ATTR_NO_NEW_PRIVS: p->no_new_privs = u; break;
  case ATTR_PRESERVE_FDS: p->preserve_fds = u; break;
  case ATTR_SESSION_KEYRING: p->session_keyring = s; break;
  case ATTR_NO_PIVOT: p->no_pivot = u; break;
  case ATTR_SETGROUPS_ALLOWED: p->setgroups_allowed = u; break;
  case ATTR_PERSONALITY: p->personality = u; break;
  case ATTR_CAPS:
    p->cap_bounding = f[0].num, p->cap_effective = f[1].num, p->cap_permitted = f[2].num;
    p->cap_inheritable = f[3].num, p->cap_ambient = f[4].num;
    break;
  case ATTR_ADDITIONAL_GIDS:
    if (f[0].len / 4 > PLAN_MAX_GIDS) return plan_error(attr, "too many entries");
    p->gids = f[0].bytes, p->n_gids = f[0].len / 4;
    break;
  case ATTR_SECCOMP:
    if (f[1].len % 8 || !f[1].len) return plan_error(attr, "bpf is not a whole number of instructions");
    p->seccomp_flags = u, p->seccomp_bpf = f[1].bytes, p->seccomp_len = f[1].len / 8;
    break;
  case ATTR_NS_JOIN: {
    struct plan_ns_join *j = APPEND(ns_joins, n_ns_joins, PLAN_MAX_NS_JOINS);
    if (!j) return plan_error(attr, "too many");
    *j = (struct plan_ns_join){u, f[1].str};
    break;
  }
  case ATTR_RLIMIT: {
    struct plan_rlimit *r = APPEND(rlimits, n_rlimits, PLAN_MAX_RLIMITS);
    if (!r) return plan_error(attr, "too many");
    *r = (struct plan_rlimit){u, f[1].num, f[2].num};
    break;
  }
  case ATTR_MOUNT: {
    struct plan_mount *m = APPEND(mounts, n_mounts, PLAN_MAX_MOUNTS);
    if (!m) return plan_error(attr, "too many");
    *m = (struct plan_mount){f[0].num, f[1].num, f[2].num, (uint32_t)f[3].num,
                             f[4].str, f[5].str, f[6].str, f[7].str};
    break;
  }
  case ATTR_DEVICE: {
    struct plan_device *d = APPEND(devices, n_devices, PLAN_MAX_DEVICES);
    if (!d) return plan_error(attr, "too many");
    *d = (struct plan_device){u, (uint32_t)f[1].num, (uint32_t)f[2].num, (uint32_t)f[3].num,
                              (uint32_t)f[4].num, (uint32_t)f[5].num, (uint32_t)f[6].num, f[7].str, f[8].str};
    break;
  }
  case ATTR_SYMLINK: {
    struct plan_symlink *l = APPEND(symlinks, n_symlinks, PLAN_MAX_SYMLINKS);
    if (!l) return plan_error(attr, "too many");
    *l = (struct plan_symlink){s, f[1].str};
    break;
  }
  case ATTR_SYSCTL: {
    struct plan_sysctl *c = APPEND(sysctls, n_sysctls, PLAN_MAX_SYSCTLS);
    if (!c) return plan_error(attr, "too many");
    *c = (struct plan_sysctl){s, f[1].str};
    break;
  }
  case ATTR_START_HOOK: {
    struct plan_hook *h = APPEND(hooks, n_hooks, PLAN_MAX_HOOKS);
    if (!h) return plan_error(attr, "too many");
    if (f[1].num > PLAN_MAX_ARGS || f[2].num > PLAN_MAX_ENV) return plan_error(attr, "too many args or env");
    *h = (struct plan_hook){u, (uint32_t)f[1].num, (uint32_t)f[2].num, f[3].str, f[4].str};
    break;
  }
  case ATTR_MASK:
    if (p->n_masks == PLAN_MAX_PATHS) return plan_error(attr, "too many");
    p->masks[p->n_masks++] = s;
    break;
  case ATTR_READONLY:
    if (p->n_readonly == PLAN_MAX_PATHS) return plan_error(attr, "too many");
    p->readonly[p->n_readonly++] = s;
    break;
  case ATTR_CGROUP_PROCS:
    if (p->n_cgroup_procs == PLAN_MAX_CGROUPS) return plan_error(attr, "too many");
    p->cgroup_procs[p->n_cgroup_procs++] = s;
    break;
  case ATTR_CGROUP_LEAVE:
    if (p->n_cgroup_leave == PLAN_MAX_CGROUPS) return plan_error(attr, "too many");
    p->cgroup_leave[p->n_cgroup_leave++] = s;
    break;
  case ATTR_ARG:
    if (p->n_args == PLAN_MAX_ARGS) return plan_error(attr, "too many");
    p->argv[p->n_args++] = (char *)s;
    break;
  case ATTR_ENV:
    if (p->n_env == PLAN_MAX_ENV) return plan_error(attr, "too many");
    p->envp[p->n_env++] = (char *)s;
    break;
  case ATTR_IOPRIO: p->ioprio = u; break;
  case ATTR_LOOPBACK_UP: p->loopback_up = u; break;
  case ATTR_SCHED:
    p->sched_policy = u, p->sched_nice = (int32_t)(uint32_t)f[1].num, p->sched_priority = (uint32_t)f[2].num;
    p->sched_flags = f[3].num, p->sched_runtime = f[4].num, p->sched_deadline = f[5].num, p->sched_period = f[6].num;
    break;
  case ATTR_CPU_AFFINITY_INITIAL:
  case ATTR_CPU_AFFINITY_FINAL:
    if (!f[0].len || f[0].len % 8 || f[0].len > PLAN_MAX_CPU_MASK) return plan_error(attr, "mask is not 8 to 1024 bytes in 8-byte words");
    if (attr == ATTR_CPU_AFFINITY_INITIAL) p->affinity_initial = f[0].bytes, p->affinity_initial_len = f[0].len;
    else p->affinity_final = f[0].bytes, p->affinity_final_len = f[0].len;
    break;
  case ATTR_SYNC_FD:
  case ATTR_FIFO_FD:
    break;
  }
  p->present |= 1ull << attr;
  return NULL;
}

const char *plan_decode(struct plan *p, unsigned char *buf, uint32_t len, plan_trace_fn *trace)
{
  struct plan_field fields[MAX_FIELDS];
  const unsigned char *end = buf + len;
  memset(p, 0, sizeof *p);
  p->setgroups_allowed = 1;
  for (const unsigned char *at = buf; at < end;) {
    if (end - at < 8) return "truncated attribute header";
    uint16_t type = (uint16_t)(at[0] | at[1] << 8);
    uint32_t value_len = get_le32(at + 4);
    at += 8;
    if (value_len > (uint32_t)(end - at)) return "attribute longer than the plan";
    if (type >= sizeof specs / sizeof specs[0] || !specs[type].name) {
      snprintf(error_text, sizeof error_text, "unknown attribute %u", type);
      return error_text;
    }
    const char *err = read_fields(type, at, at + value_len, fields);
    if (!err && trace) trace(type, fields);
    if (!err) err = store(p, type, fields);
    if (err) return err;
    at += value_len;
  }
  p->argv[p->n_args] = NULL;
  p->envp[p->n_env] = NULL;
  return NULL;
}

/* sched.c: how the kernel schedules the container's process: CPU affinity (execCPUAffinity), I/O priority
 * (ioPriority) and the scheduling policy (scheduler). The values arrive as numbers; errors name the config field.
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

#define IOPRIO_WHO_PROCESS 1

/* struct sched_attr of sched_setattr(2), SCHED_ATTR_SIZE_VER1 (the util clamps are sent as "no clamp") */
struct ocirt_sched_attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
  uint32_t util_min, util_max;
};

static void set_affinity(const unsigned char *mask, uint32_t len, const char *field)
{
  uint64_t words[PLAN_MAX_CPU_MASK / 8]; /* the plan's bytes may be unaligned */
  memcpy(words, mask, len);
  if (syscall(SYS_sched_setaffinity, 0, (size_t)len, words) < 0)
    die("cpu affinity", errno, "%s: sched_setaffinity", field);
}

/* Stage0 of an exec, before it joins the container's cgroups (the spec: "before the transition to container's
 * cgroup"). Joining a cpuset cgroup then gives the process that cgroup's CPUs. */
void sched_initial_affinity(const struct plan *p)
{
  uint64_t now[PLAN_MAX_CPU_MASK / 8];
  char text[256];
  size_t at = 0;
  if (!p->affinity_initial) return;
  set_affinity(p->affinity_initial, p->affinity_initial_len, "process.execCPUAffinity.initial");
  /* what the kernel made of it, for --debug (the cgroup join that follows replaces it) */
  long len = syscall(SYS_sched_getaffinity, 0, sizeof now, now);
  for (long cpu = 0; len > 0 && cpu < len * 8 && at < sizeof text - 16; cpu++) {
    if (!(now[cpu / 64] >> (cpu % 64) & 1)) continue;
    long last = cpu;
    while (last + 1 < len * 8 && (now[(last + 1) / 64] >> ((last + 1) % 64) & 1)) last++;
    at += (size_t)snprintf(text + at, sizeof text - at, last > cpu ? "%s%ld-%ld" : "%s%ld", at ? "," : "", cpu, last);
    cpu = last;
  }
  text[at] = 0;
  log_msg(LOG_LEVEL_DEBUG, "process.execCPUAffinity.initial: running on CPUs %s before joining the cgroups", text);
}

/* Stage1, after the cgroup join and everything else that needs privileges, but before the identity change and
 * the seccomp filter: raising a priority needs CAP_SYS_NICE (an RT I/O class CAP_SYS_ADMIN), which the process
 * may not keep, and a filter may not allow these calls. */
void sched_apply(const struct plan *p)
{
  if (p->affinity_final) set_affinity(p->affinity_final, p->affinity_final_len, "process.execCPUAffinity.final");
  if (plan_has(p, ATTR_SCHED)) {
    struct ocirt_sched_attr attr = {
      .size = sizeof attr, .policy = p->sched_policy, .flags = p->sched_flags, .nice = p->sched_nice,
      .priority = p->sched_priority, .runtime = p->sched_runtime, .deadline = p->sched_deadline,
      .period = p->sched_period, .util_min = 0, .util_max = 1024,
    };
    if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
      die("scheduler", errno, "process.scheduler: sched_setattr(policy %u, nice %d, priority %u, flags %#llx)",
          p->sched_policy, p->sched_nice, p->sched_priority, (unsigned long long)p->sched_flags);
  }
  if (plan_has(p, ATTR_IOPRIO) && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, (int)p->ioprio) < 0)
    die("io priority", errno, "process.ioPriority: ioprio_set(class %u, priority %u)", p->ioprio >> 13, p->ioprio & 0x1fff);
}

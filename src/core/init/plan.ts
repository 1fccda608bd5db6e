// The init plan: every decision the C helper carries out, as plain data. Built by pure functions
// (buildInitPlan in build-plan.ts, buildExecPlan in build-exec-plan.ts) and encoded by codec.ts.
import type {SchedAttr} from '../process/sched'

export interface NsJoin {
  /** CLONE_NEW* value of the namespace type */
  flag: number
  path: string
}

export interface RlimitStep {
  resource: number
  soft: bigint
  hard: bigint
}

export interface MountStep {
  source: string
  /** absolute path inside the container; the helper resolves it inside the rootfs */
  target: string
  fstype: string
  flags: number
  /** non-zero: remount with MS_REMOUNT|MS_BIND|remountFlags after mounting (read-only binds) */
  remountFlags: number
  /** non-zero: propagation flags applied after mounting (MS_SHARED, MS_SLAVE, ...) */
  propagation: number
  data: string
  /** MOUNT_MK.DIR or MOUNT_MK.FILE: what to create when the target is missing */
  mk: number
}

export interface DeviceStep {
  /** S_IFCHR, S_IFBLK or S_IFIFO */
  type: number
  major: number
  minor: number
  /** permission bits */
  mode: number
  uid: number
  gid: number
  path: string
  /** bind-mount the host node instead of mknod (user namespaces cannot mknod) */
  bind: boolean
  source?: string
}

export interface CapSets {
  bounding: bigint
  effective: bigint
  permitted: bigint
  inheritable: bigint
  ambient: bigint
}

export interface StartHook {
  path: string
  args: string[]
  env: string[]
  timeout?: number
}

export interface InitPlan {
  mode: 'init' | 'exec'
  /** stage1 is re-parented to ocirt (CLONE_PARENT) and stage0 exits; otherwise stage0 mirrors its exit */
  detach: boolean
  /** cgroup.procs files the helper joins before it clones (the container's cgroups) */
  cgroupProcs: string[]
  /** cgroup.procs files a foreground stage0 moves back to after the clone (where it started) */
  cgroupLeave: string[]
  cloneFlags: number
  nsJoins: NsJoin[]
  rlimits: RlimitStep[]
  oomScoreAdj?: number
  timensOffsets?: string
  fifoPath?: string
  consoleSocket?: string
  terminal: boolean
  consoleSize?: {rows: number; cols: number}
  /** a new network namespace: its loopback device is brought up (runc does the same) */
  loopbackUp?: boolean
  hostname?: string
  domainname?: string
  rootfs?: string
  rootPropagation?: {pre: number; post: number}
  mounts: MountStep[]
  devices: DeviceStep[]
  symlinks: {target: string; linkpath: string}[]
  maskedPaths: string[]
  readonlyPaths: string[]
  rootReadonly: boolean
  noPivot: boolean
  sysctls: [string, string][]
  args: string[]
  env: string[]
  cwd: string
  uid: number
  gid: number
  additionalGids?: number[]
  umask?: number
  caps?: CapSets
  noNewPrivileges: boolean
  seccomp?: {flags: number; bpf: Buffer}
  preserveFds: number
  sessionKeyring?: string
  startHooks: StartHook[]
  /** false inside a user namespace whose setgroups is denied (rootless): the helper skips setgroups */
  setgroupsAllowed: boolean
  personality?: number
  /** ioprio_set(IOPRIO_WHO_PROCESS, 0, value) just before the identity change (process.ioPriority) */
  ioprio?: number
  /** sched_setattr(0, attr) just before the identity change (process.scheduler) */
  sched?: SchedAttr
  /** exec only (process.execCPUAffinity): sched_setaffinity masks (cpu_set_t bytes), before the cgroup join and
   * before execve */
  cpuAffinity?: {initial?: Buffer; final?: Buffer}
}

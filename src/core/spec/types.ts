// OCI runtime-spec (v1.0–v1.2) config.json and state types for Linux, field names exactly as the spec spells
// them; resource types come from cgroups/types.ts. Types describe valid input: validate.ts checks real input.
import type {LinuxResources} from '../cgroups/types'

export type {
  LinuxResources, LinuxMemory, LinuxCPU, LinuxPids, LinuxBlockIO, LinuxWeightDevice, LinuxThrottleDevice,
  LinuxHugepageLimit, LinuxDeviceCgroup, LinuxNetwork, LinuxInterfacePriority, LinuxRdma,
} from '../cgroups/types'

export interface Spec {
  ociVersion: string
  process?: Process
  root?: Root
  hostname?: string
  domainname?: string
  mounts?: Mount[]
  hooks?: Hooks
  annotations?: Record<string, string>
  linux?: Linux
}

// ---- process ----

export interface Process {
  terminal?: boolean
  consoleSize?: Box
  /** REQUIRED by the spec; runc tolerates its absence (uid 0, gid 0) */
  user?: User
  args?: string[]
  /** Windows only; kept so a round trip does not lose it */
  commandLine?: string
  env?: string[]
  cwd: string
  capabilities?: LinuxCapabilities
  rlimits?: POSIXRlimit[]
  noNewPrivileges?: boolean
  apparmorProfile?: string
  oomScoreAdj?: number
  selinuxLabel?: string
  ioPriority?: LinuxIOPriority
  scheduler?: LinuxScheduler
  execCPUAffinity?: CPUAffinity
}

export interface Box {
  height: number
  width: number
}

export interface User {
  uid: number
  gid: number
  umask?: number
  additionalGids?: number[]
  /** Windows only */
  username?: string
}

export interface LinuxCapabilities {
  bounding?: string[]
  effective?: string[]
  inheritable?: string[]
  permitted?: string[]
  ambient?: string[]
}

export type CapabilitySet = keyof LinuxCapabilities

export interface POSIXRlimit {
  /** RLIMIT_* name */
  type: string
  hard: number
  soft: number
}

export interface LinuxIOPriority {
  /** IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE */
  class: string
  priority: number
}

export interface LinuxScheduler {
  /** SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE */
  policy: string
  nice?: number
  priority?: number
  /** SCHED_FLAG_* names */
  flags?: string[]
  runtime?: number
  deadline?: number
  period?: number
}

export interface CPUAffinity {
  initial?: string
  final?: string
}

// ---- root, mounts, hooks ----

export interface Root {
  path: string
  readonly?: boolean
}

export interface Mount {
  destination: string
  type?: string
  source?: string
  options?: string[]
  uidMappings?: IdMapping[]
  gidMappings?: IdMapping[]
}

export interface IdMapping {
  containerID: number
  hostID: number
  size: number
}

export interface Hook {
  path: string
  args?: string[]
  env?: string[]
  /** seconds; the spec requires > 0 when present */
  timeout?: number
}

export interface Hooks {
  /** deprecated by the spec, still run by runc (after createRuntime's point in time, in the runtime ns) */
  prestart?: Hook[]
  createRuntime?: Hook[]
  createContainer?: Hook[]
  startContainer?: Hook[]
  poststart?: Hook[]
  poststop?: Hook[]
}

export type HookName = keyof Hooks

/** The hook phases in lifecycle order (the order `runc features` prints them). */
export const HOOK_NAMES: readonly HookName[] = [
  'prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop',
]

// ---- linux ----

export interface Linux {
  uidMappings?: IdMapping[]
  gidMappings?: IdMapping[]
  sysctl?: Record<string, string>
  resources?: LinuxResources
  cgroupsPath?: string
  namespaces?: LinuxNamespace[]
  devices?: LinuxDevice[]
  seccomp?: LinuxSeccomp
  rootfsPropagation?: string
  maskedPaths?: string[]
  readonlyPaths?: string[]
  mountLabel?: string
  intelRdt?: LinuxIntelRdt
  personality?: LinuxPersonality
  /** clock name ("monotonic", "boottime") → offset; needs a new time namespace */
  timeOffsets?: Record<string, LinuxTimeOffset>
  memoryPolicy?: LinuxMemoryPolicy
  /** host interface name → how it appears in the container's network namespace */
  netDevices?: Record<string, LinuxNetDevice>
}

export interface LinuxNetDevice {
  /** the name inside the container (a trailing "%d" lets the kernel pick a free number); default: the host name */
  name?: string
}

export interface LinuxNamespace {
  /** pid, network, mount, ipc, uts, user, cgroup, time (see namespaces.ts) */
  type: string
  path?: string
}

export interface LinuxDevice {
  /** c, b, u or p */
  type: string
  path: string
  major?: number
  minor?: number
  fileMode?: number
  uid?: number
  gid?: number
}

export interface LinuxSeccomp {
  defaultAction: string
  defaultErrnoRet?: number
  architectures?: string[]
  flags?: string[]
  listenerPath?: string
  listenerMetadata?: string
  syscalls?: LinuxSyscall[]
}

export interface LinuxSyscall {
  names: string[]
  action: string
  errnoRet?: number
  args?: LinuxSeccompArg[]
}

export interface LinuxSeccompArg {
  index: number
  value: number
  valueTwo?: number
  /** SCMP_CMP_* */
  op: string
}

export interface LinuxIntelRdt {
  closID?: string
  l3CacheSchema?: string
  memBwSchema?: string
  schemata?: string[]
  enableCMT?: boolean
  enableMBM?: boolean
}

export interface LinuxPersonality {
  /** LINUX or LINUX32 */
  domain: string
  flags?: string[]
}

export interface LinuxTimeOffset {
  secs?: number
  nanosecs?: number
}

export interface LinuxMemoryPolicy {
  /** MPOL_DEFAULT, MPOL_BIND, MPOL_INTERLEAVE, MPOL_PREFERRED, ... */
  mode: string
  nodes?: string
  flags?: string[]
}

// ---- state (what `state` prints) ----

export type Status = 'creating' | 'created' | 'running' | 'stopped' | 'paused'

/** The OCI state plus runc's extra fields, in runc's print order. */
export interface State {
  ociVersion: string
  id: string
  /** absent (runc prints 0) once stopped */
  pid?: number
  status: Status
  bundle: string
  /** runc's extras */
  rootfs: string
  created: string
  owner: string
  annotations?: Record<string, string>
}

// OCI `linux.resources` types (names exactly as in runtime-spec config-linux.md), the CgroupWrite plan unit and the
// stats shape printed by `events --stats`. spec/types.ts re-exports the resource types from here.

export interface LinuxMemory {
  limit?: number
  reservation?: number
  /** memory + swap, as in cgroup v1 (v2 takes swap alone; see resources.ts) */
  swap?: number
  kernel?: number
  kernelTCP?: number
  swappiness?: number
  disableOOMKiller?: boolean
  useHierarchy?: boolean
  checkBeforeUpdate?: boolean
}

export interface LinuxCPU {
  shares?: number
  quota?: number
  burst?: number
  period?: number
  realtimeRuntime?: number
  realtimePeriod?: number
  cpus?: string
  mems?: string
  idle?: number
}

export interface LinuxPids {
  limit: number
}

export interface LinuxWeightDevice {
  major: number
  minor: number
  weight?: number
  leafWeight?: number
}

export interface LinuxThrottleDevice {
  major: number
  minor: number
  rate: number
}

export interface LinuxBlockIO {
  weight?: number
  leafWeight?: number
  weightDevice?: LinuxWeightDevice[]
  throttleReadBpsDevice?: LinuxThrottleDevice[]
  throttleWriteBpsDevice?: LinuxThrottleDevice[]
  throttleReadIOPSDevice?: LinuxThrottleDevice[]
  throttleWriteIOPSDevice?: LinuxThrottleDevice[]
}

export interface LinuxHugepageLimit {
  pageSize: string
  limit: number
}

export interface LinuxDeviceCgroup {
  allow: boolean
  /** 'a' (all), 'c' or 'b'; absent means 'a' */
  type?: string
  /** absent or -1 means any */
  major?: number | null
  minor?: number | null
  /** any of 'r', 'w', 'm'; absent means 'rwm' */
  access?: string
}

export interface LinuxInterfacePriority {
  name: string
  priority: number
}

export interface LinuxNetwork {
  classID?: number
  priorities?: LinuxInterfacePriority[]
}

export interface LinuxRdma {
  hcaHandles?: number
  hcaObjects?: number
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[]
  memory?: LinuxMemory
  cpu?: LinuxCPU
  pids?: LinuxPids
  blockIO?: LinuxBlockIO
  hugepageLimits?: LinuxHugepageLimit[]
  network?: LinuxNetwork
  rdma?: Record<string, LinuxRdma>
  unified?: Record<string, string>
}

/** One write into a cgroup file. `controller` is the v1 hierarchy that holds `file` (on v2 it is informative). */
export interface CgroupWrite {
  controller: string
  file: string
  value: string
  /** a missing file (ENOENT) is not an error: the kernel lacks the feature and the value is a no-op anyway */
  optional?: boolean
  /** when `file` is missing, write this instead (e.g. the BFQ weight file on kernels without CFQ) */
  fallback?: {file: string; value: string}
}

// ---- stats: the `data` of `events --stats`, field names and omission rules as runc prints them ----

/** A counter read from a cgroup file: a number when exact, a bigint beyond 2^53 (limits near 2^63, v2 "max"). */
export type U64 = number | bigint

export interface CpuUsage {
  total?: U64
  percpu?: U64[]
  percpu_kernel?: U64[]
  percpu_user?: U64[]
  kernel: U64
  user: U64
}

export interface Throttling {
  periods?: U64
  throttledPeriods?: U64
  throttledTime?: U64
}

export interface CpusetStats {
  cpus?: U64[]
  cpu_exclusive: U64
  mems?: U64[]
  mem_hardwall: U64
  mem_exclusive: U64
  memory_migrate: U64
  memory_spread_page: U64
  memory_spread_slab: U64
  memory_pressure: U64
  sched_load_balance: U64
  sched_relax_domain_level: U64
}

export interface MemoryEntry {
  limit: U64
  usage?: U64
  max?: U64
  failcnt: U64
}

export interface MemoryStats {
  cache?: U64
  usage: MemoryEntry
  swap: MemoryEntry
  kernel: MemoryEntry
  kernelTCP: MemoryEntry
  raw?: Record<string, U64>
}

export interface BlkioEntry {
  major?: U64
  minor?: U64
  op?: string
  value?: U64
}

export interface BlkioStats {
  ioServiceBytesRecursive?: BlkioEntry[]
  ioServicedRecursive?: BlkioEntry[]
  ioQueueRecursive?: BlkioEntry[]
  ioServiceTimeRecursive?: BlkioEntry[]
  ioWaitTimeRecursive?: BlkioEntry[]
  ioMergedRecursive?: BlkioEntry[]
  ioTimeRecursive?: BlkioEntry[]
  sectorsRecursive?: BlkioEntry[]
}

export interface HugetlbStats {
  usage?: U64
  max?: U64
  failcnt: U64
}

export interface CgroupStats {
  cpu: {usage: CpuUsage; throttling: Throttling}
  cpuset: CpusetStats
  memory: MemoryStats
  pids: {current?: U64; limit?: U64}
  blkio: BlkioStats
  hugetlb: Record<string, HugetlbStats>
  intel_rdt: Record<string, never>
  network_interfaces: null
}

// buildExecPlan: a process that joins every namespace of a running container (exec, createContainer hooks).
import type {Process} from '../spec/types'
import {NAMESPACES, type NamespaceType} from '../namespaces'
import {processPlan} from './process-plan'
import {affinityMasks} from '../process/sched'
import {cgroupLeaveFiles, cgroupProcsFiles} from './build-plan'
import type {InitPlan} from './plan'

// user first (it grants the rights for the others), mount last (it changes the root for later paths)
const JOIN_ORDER: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount']

export interface ExecPlanInput {
  id: string
  verb: string
  /** namespace type → path to join (/proc/<init pid>/ns/... or the path the container joined) */
  namespaces: Record<string, string>
  process: Process
  rootfs?: string
  detach: boolean
  consoleSocket?: string
  preserveFds: number
  rootless: boolean
  /** host cgroup directories of the container, joined before the clone */
  cgroupPaths: Record<string, string>
  /** keep the caller's identity and capabilities (hooks): no setgroups/setuid/capset */
  keepIdentity?: boolean
}

export function buildExecPlan(input: ExecPlanInput): InitPlan {
  const userns = 'user' in input.namespaces
  const proc = processPlan(input.process, {rootfs: input.rootfs, ctx: {verb: input.verb, id: input.id}, rootless: input.rootless, userns})
  return {
    mode: 'exec',
    detach: input.detach,
    cgroupProcs: cgroupProcsFiles(input.cgroupPaths),
    cgroupLeave: input.detach ? [] : cgroupLeaveFiles(input.cgroupPaths),
    cloneFlags: 0,
    nsJoins: JOIN_ORDER.filter((t) => input.namespaces[t]).map((t) => ({flag: NAMESPACES[t].flag, path: input.namespaces[t]})),
    consoleSocket: input.consoleSocket,
    mounts: [],
    devices: [],
    symlinks: [],
    maskedPaths: [],
    readonlyPaths: [],
    rootReadonly: false,
    noPivot: false,
    sysctls: [],
    preserveFds: input.preserveFds,
    startHooks: [],
    ...proc,
    caps: input.keepIdentity ? undefined : proc.caps,
    // the spec gives execCPUAffinity to processes joining the container, never to its init
    cpuAffinity: input.process.execCPUAffinity ? affinityMasks(input.process.execCPUAffinity) : undefined,
  }
}

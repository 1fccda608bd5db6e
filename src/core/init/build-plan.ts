// buildInitPlan: every decision about a new container's init process, made in TypeScript from the spec and
// the create flags, as data for the helper. Pure apart from reading the rootfs (symlinks, /etc/passwd).
import type {Spec} from '../spec/types'
import {InvalidInput} from '../errors'
import {cloneFlagsFor, NAMESPACES, type NamespaceType} from '../namespaces'
import {planMounts} from '../mounts/plan'
import {MS, propagationFlags} from '../mounts/options'
import {processPlan} from './process-plan'
import {ownCgroupDirs} from '../cgroups'
import type {InitPlan, NsJoin} from './plan'

export interface InitPlanInput {
  id: string
  spec: Spec
  bundle: string
  rootfs: string
  fifoPath: string
  detach: boolean
  consoleSocket?: string
  noPivot: boolean
  noNewKeyring: boolean
  preserveFds: number
  rootless: boolean
  cgroupVersion: 'v1' | 'v2'
  cgroupPaths: Record<string, string>
  /** the cgroup directories the container's processes join (the manager's own, not those only mounted) */
  joinCgroups: Record<string, string>
  /** the compiled linux.seccomp (the helper loads it last, see native/main.c) */
  seccomp?: {flags: number; bpf: Buffer}
}

// setns order: the user namespace first (it decides what the others may do), the mount namespace last
// (entering it changes the root the remaining paths would resolve against).
const JOIN_ORDER: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount']

export function buildInitPlan(input: InitPlanInput): InitPlan {
  const {spec, id} = input
  const ctx = {verb: 'create', id}
  const namespaces = spec.linux?.namespaces ?? []
  const newTypes = namespaces.filter((n) => !n.path).map((n) => n.type as NamespaceType)
  const userns = namespaces.some((n) => n.type === 'user')
  const nsJoins: NsJoin[] = JOIN_ORDER.flatMap((type) =>
    namespaces.filter((n) => n.type === type && n.path).map((n) => ({flag: NAMESPACES[type].flag, path: n.path!})))
  const {mounts, devices, symlinks} = planMounts({
    spec, bundle: input.bundle, rootfs: input.rootfs, userns,
    cgroupns: newTypes.includes('cgroup'),
    sharedNetns: !namespaces.some((n) => n.type === 'network'),
    cgroupPaths: input.cgroupPaths, cgroupVersion: input.cgroupVersion, ctx,
  })
  if (!spec.process) throw new InvalidInput('process: the config has no process to run', ctx)
  const proc = processPlan(spec.process, {rootfs: input.rootfs, ctx, rootless: input.rootless, userns})
  return {
    mode: 'init',
    detach: input.detach,
    cgroupProcs: cgroupProcsFiles(input.joinCgroups),
    cgroupLeave: input.detach ? [] : cgroupLeaveFiles(input.joinCgroups),
    cloneFlags: cloneFlagsFor(newTypes),
    nsJoins,
    timensOffsets: timensOffsets(spec),
    fifoPath: input.fifoPath,
    consoleSocket: input.consoleSocket,
    loopbackUp: newTypes.includes('network'),
    hostname: spec.hostname,
    domainname: spec.domainname,
    rootfs: input.rootfs,
    rootPropagation: rootPropagation(spec.linux?.rootfsPropagation, ctx),
    mounts,
    devices,
    symlinks,
    maskedPaths: spec.linux?.maskedPaths ?? [],
    readonlyPaths: spec.linux?.readonlyPaths ?? [],
    rootReadonly: spec.root?.readonly === true,
    noPivot: input.noPivot,
    sysctls: Object.entries(spec.linux?.sysctl ?? {}),
    preserveFds: input.preserveFds,
    // runc names the session keyring after the container
    sessionKeyring: input.noNewKeyring ? undefined : id,
    startHooks: (spec.hooks?.startContainer ?? []).map((h) => ({path: h.path, args: h.args ?? [h.path], env: h.env ?? [], timeout: h.timeout})),
    personality: personality(spec),
    ...proc,
    seccomp: input.seccomp,
  }
}

/** The cgroup.procs file of every hierarchy the container has a directory in. */
export function cgroupProcsFiles(paths: Record<string, string>): string[] {
  return [...new Set(Object.values(paths))].map((dir) => `${dir}/cgroup.procs`)
}

/** For a foreground helper: our own cgroup in each hierarchy (by controller) where it joins the container's. */
export function cgroupLeaveFiles(joined: Record<string, string>): string[] {
  const keys = Object.keys(joined)
  if (keys.length === 0) return []
  const own = ownCgroupDirs()
  return cgroupProcsFiles(Object.fromEntries(keys.filter((k) => own[k]).map((k) => [k, own[k]])))
}

function rootPropagation(value: string | undefined, ctx: {verb: string; id: string}): {pre: number; post: number} {
  // Before mounting, detach the container's copy of the host mounts from the host's peer groups (slave keeps
  // receiving host mounts, private does not); after pivot_root, apply what the config asked for.
  if (!value) return {pre: MS.SLAVE | MS.REC, post: 0}
  const post = propagationFlags(value)
  if (post === undefined) throw new InvalidInput(`linux.rootfsPropagation: unknown value ${JSON.stringify(value)}`, ctx)
  const pre = (post & MS.PRIVATE) ? MS.PRIVATE | MS.REC : MS.SLAVE | MS.REC
  return {pre, post}
}

function timensOffsets(spec: Spec): string | undefined {
  const offsets = spec.linux?.timeOffsets
  if (!offsets) return undefined
  return Object.entries(offsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`).join('')
}

const PERSONALITY: Record<string, number> = {LINUX: 0x0000, LINUX32: 0x0008}

function personality(spec: Spec): number | undefined {
  const domain = spec.linux?.personality?.domain
  return domain ? PERSONALITY[domain] : undefined
}

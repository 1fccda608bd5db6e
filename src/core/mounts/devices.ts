// /dev inside the container: runc's default device nodes, the spec's devices and the usual /dev symlinks.
import * as fs from 'node:fs'
import type {Spec} from '../spec/types'
import type {DeviceStep} from '../init/plan'

export const S_IFIFO = 0o010000
export const S_IFCHR = 0o020000
export const S_IFBLK = 0o060000

const DEVICE_TYPES: Record<string, number> = {c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO}

/** The nodes every container gets (the OCI runtime spec's default devices). */
export const DEFAULT_DEVICES: readonly {path: string; major: number; minor: number}[] = [
  {path: '/dev/null', major: 1, minor: 3},
  {path: '/dev/zero', major: 1, minor: 5},
  {path: '/dev/full', major: 1, minor: 7},
  {path: '/dev/random', major: 1, minor: 8},
  {path: '/dev/urandom', major: 1, minor: 9},
  {path: '/dev/tty', major: 5, minor: 0},
]

export function deviceType(t: string): number | undefined {
  return DEVICE_TYPES[t]
}

export function planDevices(spec: Spec, opts: {userns: boolean; devPts: boolean}): {
  devices: DeviceStep[]
  symlinks: {target: string; linkpath: string}[]
} {
  const byPath = new Map<string, DeviceStep>()
  for (const d of DEFAULT_DEVICES) {
    byPath.set(d.path, {type: S_IFCHR, major: d.major, minor: d.minor, mode: 0o666, uid: 0, gid: 0, path: d.path,
      bind: opts.userns, source: opts.userns ? d.path : undefined})
  }
  for (const d of spec.linux?.devices ?? []) {
    // spec devices override defaults of the same path
    byPath.set(d.path, {
      type: DEVICE_TYPES[d.type] ?? S_IFCHR,
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      mode: (d.fileMode ?? 0o666) & 0o7777,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
      path: d.path,
      bind: opts.userns,
      source: opts.userns ? d.path : undefined,
    })
  }
  const symlinks = [
    {target: '/proc/self/fd', linkpath: '/dev/fd'},
    {target: '/proc/self/fd/0', linkpath: '/dev/stdin'},
    {target: '/proc/self/fd/1', linkpath: '/dev/stdout'},
    {target: '/proc/self/fd/2', linkpath: '/dev/stderr'},
  ]
  if (fs.existsSync('/proc/kcore')) symlinks.push({target: '/proc/kcore', linkpath: '/dev/core'})
  if (opts.devPts) symlinks.push({target: 'pts/ptmx', linkpath: '/dev/ptmx'})
  return {devices: [...byPath.values()], symlinks}
}

/**
 * The device cgroup rules a container gets: the config's own rules in their order, with access to the default
 * nodes, /dev/pts, /dev/ptmx and every node the config creates put in right after the config's last rule for
 * all devices ("a", usually the leading deny-all). A config that starts with "deny all" thus still has a
 * working /dev/null (the spec's default devices), and a later rule of the config for one device still wins
 * (the spec: entries apply in the listed order). runc appends these allows after every rule of the config,
 * so there a config's own "deny c 1:3 w" has no effect.
 */
export function deviceCgroupRules(spec: Spec): import('../cgroups/types').LinuxDeviceCgroup[] {
  const own = spec.linux?.resources?.devices ?? []
  const c = (major: number, minor: number | null) => ({allow: true, type: 'c', major, minor, access: 'rwm'})
  const implicit = [
    ...DEFAULT_DEVICES.map((d) => c(d.major, d.minor)),
    c(5, 2), // /dev/ptmx
    c(136, null), // /dev/pts/*
    ...(spec.linux?.devices ?? []).map((d) => ({allow: true, type: d.type === 'u' ? 'c' : d.type, major: d.major ?? null, minor: d.minor ?? null, access: 'rwm'})),
  ]
  const at = lastAllDevicesRule(own) + 1
  return [...own.slice(0, at), ...implicit, ...own.slice(at)]
}

/** Index of the config's last rule that covers every device (type "a" or unset: it resets the list), or -1. */
function lastAllDevicesRule(rules: readonly {type?: string}[]): number {
  for (let i = rules.length - 1; i >= 0; i--) {
    if (rules[i].type === undefined || rules[i].type === 'a' || rules[i].type === '') return i
  }
  return -1
}

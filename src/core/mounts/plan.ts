// Turns the spec's mounts, devices and /dev setup into the ordered MountStep/DeviceStep/symlink lists the
// helper executes inside the container's mount namespace. Pure apart from stat calls on host sources.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {InvalidInput} from '../errors'
import type {Mount, Spec} from '../spec/types'
import type {DeviceStep, MountStep} from '../init/plan'
import {MOUNT_MK} from '../init/codec'
import {MS, parseMountOptions} from './options'
import {planCgroupMount} from './cgroup-mount'
import {planDevices} from './devices'
import {resolveInRoot} from './resolve'

export interface MountPlanInput {
  spec: Spec
  bundle: string
  rootfs: string
  /** the container gets its own user namespace: devices must be bind-mounted, not created */
  userns: boolean
  /** the container gets its own cgroup namespace */
  cgroupns: boolean
  /** the container stays in the runtime's network namespace (no "network" entry in linux.namespaces) */
  sharedNetns?: boolean
  /** host cgroup directories of the container, by controller (v1) or '' (v2) */
  cgroupPaths: Record<string, string>
  cgroupVersion: 'v1' | 'v2'
  ctx: {verb: string; id: string}
}

export interface MountPlan {
  mounts: MountStep[]
  devices: DeviceStep[]
  symlinks: {target: string; linkpath: string}[]
}

// flags that only make sense on the first mount(2) of a bind; the rest need a remount to take effect
const BIND_ONLY = MS.BIND | MS.REC

export function planMounts(input: MountPlanInput): MountPlan {
  const mounts: MountStep[] = []
  const specMounts = input.spec.mounts ?? []
  specMounts.forEach((m, i) => {
    checkDestination(m, i, input)
    if (m.type === 'cgroup' || m.type === 'cgroup2') {
      mounts.push(...planCgroupMount(m, parseMountOptions(m.options ?? []), input))
    } else {
      mounts.push(planOne(m, i, input))
    }
  })
  const devSetup = needsDevSetup(specMounts)
  const {devices, symlinks} = devSetup
    ? planDevices(input.spec, {userns: input.userns, devPts: specMounts.some((m) => m.destination === '/dev/pts')})
    : {devices: [], symlinks: []}
  return {mounts, devices, symlinks}
}

/** runc sets up /dev (default devices, symlinks) unless the config bind-mounts the host's /dev. */
function needsDevSetup(mounts: Mount[]): boolean {
  return !mounts.some((m) => path.posix.normalize(m.destination) === '/dev' && isBind(m))
}

function isBind(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')
}

function planOne(m: Mount, i: number, input: MountPlanInput): MountStep {
  if (m.type === 'sysfs' && input.userns && input.sharedNetns) {
    // Only an owner of the current network namespace may mount sysfs: a user namespace left in the runtime's
    // network namespace gets EPERM. Bind the host's /sys instead, as `spec --rootless` does (and crun on EPERM).
    return planOne({...m, type: 'bind', source: '/sys', options: [...(m.options ?? []), 'rbind']}, i, input)
  }
  const opts = parseMountOptions(m.options ?? [])
  const target = path.posix.normalize(m.destination)
  if (isBind(m)) {
    const source = path.resolve(input.bundle, m.source ?? '')
    let st: fs.Stats
    try {
      st = fs.statSync(source)
    } catch {
      throw new InvalidInput(`mounts[${i}].source: bind source ${source} does not exist`, {...input.ctx, step: `mount ${target}`})
    }
    const extra = opts.flags & ~BIND_ONLY
    return {
      source,
      target,
      fstype: '',
      flags: MS.BIND | (opts.recursive ? MS.REC : 0),
      // a bind mount ignores every flag but MS_BIND|MS_REC; read-only and friends need a remount
      remountFlags: extra,
      propagation: opts.propagation,
      data: opts.data,
      mk: st.isDirectory() ? MOUNT_MK.DIR : MOUNT_MK.FILE,
    }
  }
  const fstype = m.type ?? ''
  return {
    source: m.source ?? fstype,
    target,
    fstype,
    flags: opts.flags,
    remountFlags: 0,
    propagation: opts.propagation,
    data: opts.data,
    mk: MOUNT_MK.DIR,
  }
}

/**
 * A destination may pass through symlinks inside the rootfs (absolute links count from the rootfs, as the
 * container sees them), but one that climbs out of the rootfs with ".." is refused: runc would silently clamp
 * it to the rootfs, which hides a broken or hostile image.
 */
function checkDestination(m: Mount, i: number, input: MountPlanInput): void {
  if (!m.destination || !m.destination.startsWith('/')) {
    throw new InvalidInput(`mounts[${i}].destination: must be an absolute path, got ${JSON.stringify(m.destination ?? '')}`, input.ctx)
  }
  const escape = resolveInRoot(input.rootfs, m.destination).escape
  if (escape) {
    throw new InvalidInput(
      `mounts[${i}].destination ${m.destination} escapes the rootfs through the symlink ${escape.link} -> ${escape.target}`,
      {...input.ctx, step: `mount ${m.destination}`})
  }
}

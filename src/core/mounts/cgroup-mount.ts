// Expands a spec mount of type "cgroup" into the steps that show the container its own cgroups: one cgroup2
// mount on v2; on v1 a tmpfs with one directory per hierarchy (a fresh cgroup mount inside a cgroup
// namespace, else a bind of the container's host cgroup directory), read-only when the mount asks for it.
import * as path from 'node:path'
import type {Mount} from '../spec/types'
import type {MountStep} from '../init/plan'
import {MOUNT_MK} from '../init/codec'
import {MS, type ParsedMountOptions} from './options'
import type {MountPlanInput} from './plan'

const CGROUP_FS_ROOT = '/sys/fs/cgroup'

export function planCgroupMount(m: Mount, opts: ParsedMountOptions, input: MountPlanInput): MountStep[] {
  const dest = path.posix.normalize(m.destination)
  const ro = (opts.flags & MS.RDONLY) !== 0
  const base = opts.flags & ~MS.RDONLY
  if (input.cgroupVersion === 'v2') {
    const dir = input.cgroupPaths['']
    if (input.cgroupns || !dir) return [step('cgroup2', dest, 'cgroup2', opts.flags, '')]
    return [bindStep(dir, dest, opts.flags)]
  }
  const steps: MountStep[] = [step('tmpfs', dest, 'tmpfs', base, 'mode=755')]
  const seen = new Set<string>()
  for (const [controller, hostDir] of Object.entries(input.cgroupPaths)) {
    const hierarchy = path.relative(CGROUP_FS_ROOT, hostDir).split('/')[0]
    if (!hierarchy || hierarchy.startsWith('..') || seen.has(hierarchy)) continue
    seen.add(hierarchy)
    const target = path.posix.join(dest, hierarchy)
    if (input.cgroupns) {
      const data = controller.startsWith('name=') ? `none,${controller}` : hierarchy
      steps.push(step('cgroup', target, 'cgroup', opts.flags, data))
    } else {
      steps.push(bindStep(hostDir, target, opts.flags))
    }
  }
  if (ro) steps.push({...step('', dest, '', MS.REMOUNT | MS.BIND | MS.RDONLY | (base & ~MS.REC), ''), mk: 0})
  return steps
}

function step(source: string, target: string, fstype: string, flags: number, data: string): MountStep {
  return {source, target, fstype, flags, remountFlags: 0, propagation: 0, data, mk: MOUNT_MK.DIR}
}

function bindStep(source: string, target: string, flags: number): MountStep {
  const extra = flags & ~(MS.BIND | MS.REC)
  return {source, target, fstype: '', flags: MS.BIND | MS.REC, remountFlags: extra, propagation: 0, data: '', mk: MOUNT_MK.DIR}
}

// Facts about the source container that decide whether and how it can move: what is refused before anything
// starts (plain errors, nothing to roll back), and the memory its images will need on the target.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../core/errors'
import type {Runtime} from '../core/runtime'
import {loadContainer} from '../core/lifecycle/container'
import {parseMountinfo} from '../core/sys/mountinfo'

/**
 * What can be refused before anything starts: plain errors, nothing to roll back. `consoleSocket` is the unix socket
 * on the target where the new pty master of a container with a terminal goes (as runc restore --console-socket).
 */
export function requireMovable(rt: Runtime, id: string, o: {consoleSocket?: string} = {}): void {
  const ctx = {verb: 'migrate', id}
  const loaded = loadContainer(rt, id, 'migrate')
  if (loaded.status === 'paused') throw new OcirtError('the container is paused: resume it before migrating (a migration freezes it itself)', ctx)
  if (loaded.status !== 'running') throw new OcirtError(`only a running container can migrate; this one is ${loaded.status}`, ctx)
  if (loaded.facts.terminal && !o.consoleSocket) {
    throw new OcirtError('the container has a terminal: give --console-socket, the path of a unix socket on the target where a receiver (as for runc --console-socket) takes the new pty master', ctx)
  }
  if (!loaded.facts.terminal && o.consoleSocket) throw new OcirtError('--console-socket given but the container has no terminal', ctx)
  if (o.consoleSocket && !path.isAbsolute(o.consoleSocket)) throw new OcirtError(`--console-socket ${o.consoleSocket}: give an absolute path on the target`, ctx)
  if (loaded.facts.rootless || rt.rootless) throw new OcirtError('rootless containers cannot migrate: checkpoint needs root (docs/rootless.md)', ctx)
  // CRIU cannot carry a socket from outside the container (an engine's or Node's socketpair on stdio) to another host
  for (const fd of [0, 1, 2]) {
    let link = ''
    try {
      link = fs.readlinkSync(`/proc/${loaded.facts.pid}/fd/${fd}`)
    } catch {
      continue
    }
    if (link.startsWith('socket:')) {
      throw new OcirtError(`the container's fd ${fd} is a socket from outside it (${link}), which cannot move to another host: start it with files, pipes or /dev/null as stdio`, ctx)
    }
  }
}

/** Memory the images will take: the cgroup's usage (v1 memory.usage_in_bytes, v2 memory.current). */
export function memoryBytes(cgroup: {version: 'v1' | 'v2'; paths: Record<string, string>}): number {
  const file = cgroup.version === 'v1' ? path.join(cgroup.paths.memory ?? '', 'memory.usage_in_bytes') : path.join(cgroup.paths[''] ?? '', 'memory.current')
  try {
    return Number(fs.readFileSync(file, 'utf8').trim()) || 0
  } catch {
    return 0
  }
}

/**
 * The container's mount points inside /proc and /sys (masked and read-only paths: /proc/kcore, /proc/sysrq-trigger,
 * /sys/firmware, ...). Which of these exist depends on the kernel, and CRIU can only restore a mount whose mount point
 * exists, so the target's agent checks them before the freeze (a restore failing on one would roll back after it).
 */
export function kernelMountPoints(mountinfo: string): string[] {
  const points = new Set<string>()
  for (const {mountPoint: p} of parseMountinfo(mountinfo)) {
    if (/^\/(proc|sys)\/./.test(p) && !p.startsWith('/sys/fs/cgroup')) points.add(p)
  }
  return [...points].sort()
}

/** kernelMountPoints of a running container's init. */
export function containerKernelMountPoints(pid: number): string[] {
  try {
    return kernelMountPoints(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
  } catch {
    return []
  }
}

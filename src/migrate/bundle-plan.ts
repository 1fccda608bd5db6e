// What of a container's files must reach the target, and the config it runs with there: the bundle directory
// (with everything inside it: rootfs, bind-mount sources, log files), a rootfs that lives outside it (copied
// into the target bundle), the bind-mount sources outside the bundle (not copied: they must exist on the target,
// like a shared volume), and the config rewritten for the target's paths and cgroup.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Spec} from '../core/spec/types'

export interface SyncItem {
  what: 'bundle' | 'rootfs'
  local: string
  remote: string
}

export interface BundlePlan {
  items: SyncItem[]
  /** the container's config as the target must see it */
  config: Spec
  /** absolute paths the config binds from outside the bundle: they must exist on the target */
  requiredPaths: string[]
  /** the container's fds 0-2 as the target gives them: a path relative to the bundle, or '' for /dev/null */
  stdio: [string, string, string]
}

export interface PlanInput {
  bundle: string
  rootfs: string
  spec: Spec
  /** the container's init pid: its fds 0-2 say where its stdio goes */
  pid: number
  remoteBundle: string
  cgroupsPath?: string
}

export function planBundle(i: PlanInput): BundlePlan {
  const config = structuredClone(i.spec)
  const items: SyncItem[] = [{what: 'bundle', local: i.bundle, remote: i.remoteBundle}]
  if (inside(i.rootfs, i.bundle)) {
    config.root = {...config.root!, path: path.relative(i.bundle, i.rootfs)}
  } else {
    const name = freeName(i.bundle, 'rootfs')
    items.push({what: 'rootfs', local: i.rootfs, remote: path.join(i.remoteBundle, name)})
    config.root = {...config.root!, path: name}
  }
  const requiredPaths: string[] = []
  for (const m of config.mounts ?? []) {
    if (!isBind(m.type, m.options) || !m.source) continue
    const abs = path.resolve(i.bundle, m.source)
    if (inside(abs, i.bundle)) m.source = path.relative(i.bundle, abs) || '.'
    else requiredPaths.push(abs)
  }
  if (i.cgroupsPath !== undefined) config.linux = {...config.linux, cgroupsPath: i.cgroupsPath}
  return {items, config, requiredPaths, stdio: stdioOf(i.pid, i.bundle)}
}

/** Bytes under the items (apparent sizes), for the target's free-space check. */
export function sizeOf(items: SyncItem[]): number {
  let total = 0
  const walk = (p: string) => {
    let st: fs.Stats
    try {
      st = fs.lstatSync(p)
    } catch {
      return
    }
    total += st.isFile() ? st.size : 4096
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e))
  }
  for (const it of items) walk(it.local)
  return total
}

function stdioOf(pid: number, bundle: string): [string, string, string] {
  return [0, 1, 2].map((fd) => {
    try {
      const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`)
      return link.startsWith('/') && inside(link, bundle) ? path.relative(bundle, link) : ''
    } catch {
      return ''
    }
  }) as [string, string, string]
}

function isBind(type: string | undefined, options: string[] | undefined): boolean {
  return type === 'bind' || (options ?? []).some((o) => o === 'bind' || o === 'rbind')
}

function inside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}

function freeName(dir: string, base: string): string {
  for (let n = 0; ; n++) {
    const name = n ? `${base}.${n}` : base
    if (!fs.existsSync(path.join(dir, name))) return name
  }
}

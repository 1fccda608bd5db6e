// What the agent looks at and opens on the target's filesystem: the bundle's paths (a removal must not follow a
// symlink out of it, a new bundle's topmost missing directory), the files the restored container gets as its stdio,
// a cgroup that already holds processes, a unix socket.
import * as fs from 'node:fs'
import * as path from 'node:path'

export function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket()
  } catch {
    return false
  }
}

export function openStdio(stdio: [string, string, string], bundle: string): [number, number, number] {
  const byPath = new Map<string, number>()
  return stdio.map((file, i) => {
    const abs = file ? path.resolve(bundle, file) : '/dev/null'
    const key = `${abs}:${i === 0 ? 'r' : 'w'}`
    if (!byPath.has(key)) byPath.set(key, fs.openSync(abs, i === 0 ? 'r' : 'a', 0o644))
    return byPath.get(key)!
  }) as [number, number, number]
}

/** Every directory between base (excluded) and p (excluded) is a real directory, not a symlink. */
export function parentsAreDirectories(base: string, p: string): boolean {
  for (let d = path.dirname(p); d.length > base.length; d = path.dirname(d)) {
    try {
      if (!fs.lstatSync(d).isDirectory()) return false
    } catch {
      return false
    }
  }
  return true
}

export function emptyDir(dir: string): void {
  for (const e of fs.readdirSync(dir)) fs.rmSync(path.join(dir, e), {recursive: true, force: true})
}

/** The highest ancestor of p (or p) that does not exist yet: what mkdir -p will make. */
export function topMissing(p: string): string | undefined {
  let top: string | undefined
  for (let d = p; !fs.existsSync(d); d = path.dirname(d)) top = d
  return top
}

/** A cgroup directory of that path (any v1 hierarchy or v2) that has processes, or undefined. */
export function busyCgroup(cgroupsPath: string): string | undefined {
  const rel = cgroupsPath.replace(/^\/+/, '')
  const base = '/sys/fs/cgroup'
  const candidates = [path.join(base, rel)]
  try {
    for (const h of fs.readdirSync(base)) candidates.push(path.join(base, h, rel))
  } catch {
    return undefined
  }
  for (const dir of candidates) {
    try {
      if (fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim()) return dir
    } catch {
      // not there
    }
  }
  return undefined
}

export function fmt(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`
}

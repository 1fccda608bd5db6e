// Small synchronous cgroupfs helpers shared by the v1 and v2 managers: file reads and writes the way the kernel
// wants them, mkdir -p that reports what it made, rmdir with EBUSY retries, procs listing, a blocking sleep.
import * as fs from 'node:fs'
import * as path from 'node:path'

/** Directory operations, injectable so tests can emulate the kernel populating a new cgroup with its files. */
export interface DirOps {
  mkdir(dir: string): void
  rmdir(dir: string): void
}

export const REAL_DIR_OPS: DirOps = {
  mkdir: (dir) => fs.mkdirSync(dir),
  rmdir: (dir) => fs.rmdirSync(dir),
}

export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** Blocks the (short-lived, single-purpose) CLI process for `ms` milliseconds. */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Writes one value into an existing cgroup file. No O_CREAT: cgroupfs cannot create files, and a missing file
 * must surface as ENOENT (feature absent) in fake trees too. One write() call: the kernel parses each write whole.
 */
export function writeCgroupFile(dir: string, file: string, value: string): void {
  const fd = fs.openSync(path.join(dir, file), fs.constants.O_WRONLY | fs.constants.O_TRUNC)
  try {
    fs.writeSync(fd, value)
  } finally {
    fs.closeSync(fd)
  }
}

export function readCgroupFile(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), 'utf8')
}

/** The file's content, or undefined when the file (or its cgroup) does not exist. */
export function readCgroupFileIfExists(dir: string, file: string): string | undefined {
  try {
    return readCgroupFile(dir, file)
  } catch (err) {
    const code = errnoOf(err)
    if (code === 'ENOENT' || code === 'ENODEV') return undefined
    throw err
  }
}

/** Creates `dir` and its missing parents; returns the directories it made, outermost first. */
export function mkdirAll(dir: string, ops: DirOps): string[] {
  const missing: string[] = []
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d)
    if (d === path.dirname(d)) break
  }
  const made: string[] = []
  for (const d of missing) {
    try {
      ops.mkdir(d)
      made.push(d)
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err // a concurrent create of a shared parent is fine
    }
  }
  return made
}

/**
 * Removes a cgroup directory and any child cgroups the container made inside it, deepest first. rmdir fails with
 * EBUSY while exiting tasks are still charged to the cgroup, so it is retried with a short backoff (~1 s in all).
 * A directory that is already gone is fine.
 */
export function removeCgroupDir(dir: string, ops: DirOps): void {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(dir, {withFileTypes: true})
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return
    throw err
  }
  for (const e of entries) if (e.isDirectory()) removeCgroupDir(path.join(dir, e.name), ops)
  for (let attempt = 0, wait = 5; ; attempt++, wait = Math.min(wait * 2, 200)) {
    try {
      ops.rmdir(dir)
      return
    } catch (err) {
      const code = errnoOf(err)
      if (code === 'ENOENT') return
      if (code !== 'EBUSY' || attempt >= 8) throw err
      sleepMs(wait)
    }
  }
}

/** Parses a cgroup.procs file: one pid per line. */
export function parsePids(text: string): number[] {
  const out: number[] = []
  for (const line of text.split('\n')) if (line.trim() !== '') out.push(Number(line))
  return out
}

/** Pids in `dir` (and, when recursive, every cgroup below it); an absent cgroup has none. */
export function readPids(dir: string, recursive: boolean): number[] {
  const text = readCgroupFileIfExists(dir, 'cgroup.procs')
  if (text === undefined) return []
  const out = parsePids(text)
  if (recursive) {
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
      if (e.isDirectory()) out.push(...readPids(path.join(dir, e.name), true))
    }
  }
  return out
}

/** Adds a process to a cgroup. EINVAL can mean the task is still being set up by fork (TASK_NEW): retry briefly. */
export function writePid(dir: string, pid: number): void {
  for (let attempt = 0; ; attempt++) {
    try {
      writeCgroupFile(dir, 'cgroup.procs', String(pid))
      return
    } catch (err) {
      if (errnoOf(err) !== 'EINVAL' || attempt >= 4) throw err
      sleepMs(10 * (attempt + 1))
    }
  }
}

/** Files in `dir` whose names match `re` (for per-pagesize hugetlb files), [] if the dir is absent. */
export function listMatching(dir: string, re: RegExp): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => re.test(f))
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return []
    throw err
  }
}

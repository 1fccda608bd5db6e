// A per-container lock serializing mutating verbs (start, delete, pause, resume, update, checkpoint, restore,
// migrate): <dir>/.lock is a directory made with mkdir (atomic), holding `owner` = "<pid> <start time>".
// A lock whose owner is gone (crashed, killed) is broken by renaming it away, which only one process can do.
// flock(2) would need koffi (~15 ms to load) or a helper process (~10 ms with spawnSync) on every verb; this
// costs two syscalls when uncontended.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError, wrapSysError} from '../errors'
import type {Runtime} from '../runtime'
import {containerDir} from './store'
import {readProcStat} from './status'

export const LOCK_DIR = '.lock'
/** how long a verb waits for another ocirt process (a migration holds its container for seconds) */
export const LOCK_WAIT_MS = 60_000

export type Unlock = () => void

export async function lockContainer(rt: Runtime, id: string, verb: string, waitMs = LOCK_WAIT_MS): Promise<Unlock> {
  const lock = path.join(containerDir(rt, id), LOCK_DIR)
  const me = ownerToken(process.pid)
  const deadline = Date.now() + waitMs
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(lock, {mode: 0o700})
      fs.writeFileSync(path.join(lock, 'owner'), me)
      return () => release(lock, me)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new OcirtError('container does not exist', {verb, id})
      if (code !== 'EEXIST') throw wrapSysError(err, {verb, id, step: 'lock'})
    }
    if (isStale(lock)) {
      breakLock(lock)
      continue
    }
    if (Date.now() > deadline) {
      throw new OcirtError(`container is busy: another ocirt process (${readOwner(lock) ?? 'unknown'}) holds its lock`, {verb, id, step: 'lock'})
    }
    await new Promise((r) => setTimeout(r, Math.min(50, 1 + i)))
  }
}

function ownerToken(pid: number): string {
  return `${pid} ${readProcStat(pid)?.startTime ?? ''}`
}

function readOwner(lock: string): string | undefined {
  try {
    return fs.readFileSync(path.join(lock, 'owner'), 'utf8')
  } catch {
    return undefined
  }
}

function isStale(lock: string): boolean {
  const owner = readOwner(lock)
  if (owner === undefined || !/^\d+ \d+$/.test(owner)) {
    // made but not yet signed: stale only if it stays unsigned for a while (its maker died in between)
    try {
      return Date.now() - fs.statSync(lock).mtimeMs > 2000
    } catch {
      return false
    }
  }
  const [pid, start] = owner.split(' ')
  return ownerToken(Number(pid)) !== `${pid} ${start}` || readProcStat(Number(pid)) === undefined
}

/**
 * Moves a stale lock aside. Two waiters may both judge the same dead owner's lock stale; if the first broke
 * it and took a fresh lock before the second renames, the second has moved a live lock: it checks what it
 * moved and puts a live one back.
 */
function breakLock(lock: string): void {
  const aside = `${lock}.stale.${process.pid}.${Date.now()}`
  try {
    fs.renameSync(lock, aside)
  } catch {
    return // someone else broke it first
  }
  if (!isStale(aside)) {
    try {
      fs.renameSync(aside, lock)
      return
    } catch {
      // a third process locked meanwhile; the live owner we moved will find its lock gone when it releases
    }
  }
  fs.rmSync(aside, {recursive: true, force: true})
}

function release(lock: string, me: string): void {
  if (readOwner(lock) !== me) return
  // the lock holds only its owner file: two syscalls, where rmSync's recursive walk first loads Node's rimraf
  try {
    fs.unlinkSync(path.join(lock, 'owner'))
    fs.rmdirSync(lock)
  } catch {
    fs.rmSync(lock, {recursive: true, force: true})
  }
}

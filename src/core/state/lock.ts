// A per-container lock serializing mutating verbs (start, delete, pause, resume, update, checkpoint, restore,
// migrate). flock(2) locks belong to the open file description, so the small helper takes the lock on a
// descriptor inherited from this process and exits: the lock stays held until this process closes it or dies.
// (Loading koffi for one flock call would cost ~15 ms on every verb; spawning the helper costs ~1.5 ms.)
import * as fs from 'node:fs'
import * as path from 'node:path'
import {spawnSync} from 'node:child_process'
import {OcirtError, wrapSysError} from '../errors'
import type {Runtime} from '../runtime'
import {initBinary} from '../init/binary'
import {containerDir} from './store'

export const LOCK_FILE = '.lock'
/** how long a verb waits for another ocirt process (a migration holds its container for seconds) */
export const LOCK_WAIT_SECONDS = 60

export type Unlock = () => void

export function lockContainer(rt: Runtime, id: string, verb: string, waitSeconds = LOCK_WAIT_SECONDS): Unlock {
  let fd: number
  try {
    fd = fs.openSync(path.join(containerDir(rt, id), LOCK_FILE), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600)
  } catch (err) {
    throw wrapSysError(err, {verb, id, step: 'lock'})
  }
  const r = spawnSync(initBinary(), ['flock', '--fd', '3', '--timeout', String(waitSeconds)], {stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8'})
  if (r.status !== 0) {
    fs.closeSync(fd)
    const why = r.error?.message ?? (r.stderr.trim() || `exit status ${r.status}`)
    throw new OcirtError(`container is busy: another ocirt process holds its lock (${why})`, {verb, id, step: 'lock'})
  }
  return () => fs.closeSync(fd)
}

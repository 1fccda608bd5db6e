// Derives a container's status from recorded facts and the live system (crun/runc style), and says which
// operations each status allows (youki's can_* as one table).
import * as fs from 'node:fs'
import type {ContainerFacts, Status} from './facts'
import {reopenCgroup} from '../cgroups'

export interface ProcStat {
  state: string
  ppid: number
  startTime: string
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so split after the last ')'. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19]
  return {state: rest[0], ppid: Number(rest[1]), startTime: rest[19]}
}

/** True when the recorded init still exists: same pid, same start time, not a zombie. */
export function initAlive(facts: Pick<ContainerFacts, 'pid' | 'pidStartTime'>): boolean {
  if (!facts.pid) return false
  const st = readProcStat(facts.pid)
  return st !== undefined && st.state !== 'Z' && st.state !== 'X' && st.startTime === facts.pidStartTime
}

/** Waits (up to ~10 s) until the recorded init is gone: a SIGKILL lands at once, but the task dies when scheduled. */
export async function waitInitGone(facts: Pick<ContainerFacts, 'pid' | 'pidStartTime'>): Promise<void> {
  for (let i = 0; i < 1000 && initAlive(facts); i++) await new Promise((r) => setTimeout(r, i < 50 ? 1 : 10))
}

/** One definition of "paused": the cgroup manager's (v1: frozen by itself, not only by a parent; v2: cgroup.freeze). */
export function cgroupFrozen(facts: Pick<ContainerFacts, 'id' | 'cgroup' | 'rootless'>): boolean {
  try {
    return reopenCgroup(facts.cgroup, {id: facts.id, rootless: facts.rootless}).isFrozen()
  } catch {
    return false
  }
}

export function deriveStatus(facts: ContainerFacts, fifo: string): Status {
  if (!initAlive(facts)) return 'stopped'
  // runc checks the freezer first: a created container can be paused (and resumed back to created)
  if (cgroupFrozen(facts)) return 'paused'
  if (fs.existsSync(fifo)) return 'created'
  return 'running'
}

export type Operation = 'start' | 'pause' | 'resume' | 'exec' | 'kill' | 'delete' | 'checkpoint' | 'update' | 'ps'

/** Which statuses each operation accepts (runc's CLI rules; special cases live in the verbs). */
export const ALLOWED: Record<Operation, readonly Status[]> = {
  start: ['created'],
  pause: ['running', 'created'],
  resume: ['paused'],
  exec: ['created', 'running'],
  kill: ['created', 'running', 'paused'],
  delete: ['stopped', 'created'],
  checkpoint: ['running', 'paused'],
  update: ['created', 'running', 'paused'],
  // runc lists what is left of a stopped container (usually nothing) without an error
  ps: ['created', 'running', 'paused', 'stopped'],
}

export function allowed(op: Operation, status: Status): boolean {
  return ALLOWED[op].includes(status)
}

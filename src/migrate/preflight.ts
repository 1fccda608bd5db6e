// Before anything is frozen: can this container move to that host, and how. Pure: it compares the facts both
// hosts reported (agent/facts.ts) and picks the mode; the agent's `prepare` checks the target's own state (id
// free, room on disk, bind sources, cgroup) on the same connection.
import type {HostFacts} from './agent/facts'

export type Mode = 'post-copy' | 'pre-copy' | 'stop-copy'
export type ModeChoice = Mode | 'auto'

export interface PreflightVerdict {
  mode?: Mode
  /** why the migration cannot go ahead; empty when it can */
  problems: string[]
  /** worth knowing, not blocking */
  notes: string[]
}

export function preflight(local: HostFacts, remote: HostFacts, wanted: ModeChoice): PreflightVerdict {
  const problems: string[] = []
  const notes: string[] = []
  if (local.criu.problem) problems.push(`source: ${local.criu.problem}`)
  if (remote.criu.problem) problems.push(`target: ${remote.criu.problem}`)
  if (local.arch !== remote.arch) problems.push(`the target is ${remote.arch}, the source ${local.arch}: a process cannot move between architectures`)
  const missing = local.cpuFlags.filter((f) => !remote.cpuFlags.includes(f))
  if (missing.length) problems.push(`the target's CPU lacks features the source's has (the process may use them): ${missing.slice(0, 12).join(' ')}${missing.length > 12 ? ' ...' : ''}`)
  if (major(local.ocirt) !== major(remote.ocirt)) problems.push(`ocirt ${remote.ocirt} on the target cannot take a migration from ocirt ${local.ocirt}`)
  else if (local.ocirt !== remote.ocirt) notes.push(`ocirt ${local.ocirt} here, ${remote.ocirt} on the target`)
  if (local.criu.version && remote.criu.version && local.criu.version !== remote.criu.version) notes.push(`criu ${local.criu.version} here, ${remote.criu.version} on the target`)

  const can: Record<Mode, string> = {
    'post-copy': both('userfaultfd (lazy pages)', local.features.lazyPages, remote.features.lazyPages),
    // only the dumps track dirty pages: the target restores a parent chain with no help from its kernel
    'pre-copy': both('memory dirty tracking (soft-dirty)', local.features.dirtyTracking, ''),
    'stop-copy': '',
  }
  let mode: Mode | undefined
  if (wanted === 'auto') {
    // the shortest freeze first: pre-copy moves most memory while the container runs, post-copy after it resumed
    mode = (['pre-copy', 'post-copy', 'stop-copy'] as Mode[]).find((m) => !can[m])
    for (const m of ['pre-copy', 'post-copy'] as Mode[]) if (m !== mode && can[m]) notes.push(`${m} not possible: ${can[m]}`)
    // pre-copy's freeze carries what the last round left dirty: for memory rewritten faster than the link, all of it
    if (mode === 'pre-copy' && !can['post-copy']) notes.push('post-copy is possible too: --mode post-copy keeps the freeze short for a container that rewrites its memory faster than the link carries it')
  } else if (can[wanted]) {
    problems.push(`--mode ${wanted} needs ${can[wanted]}`)
  } else {
    mode = wanted
  }
  return {mode: problems.length ? undefined : mode, problems, notes}
}

function both(what: string, local: string, remote: string): string {
  const why = [local && `the source lacks it (${local})`, remote && `the target lacks it (${remote})`].filter(Boolean)
  return why.length ? `${what}: ${why.join('; ')}` : ''
}

function major(v: string): string {
  return v.split('.')[0]
}

/** Clocks further apart than this are worth a note (logs, certificates, timestamps in the application). */
export const CLOCK_NOTE_MS = 2000

/**
 * How far the target's clock is from this host's, from its `hello` answer (remoteTime) and when this host sent the
 * request and got the answer: the target read its clock somewhere in between, so the error is half the round trip.
 */
export function clockSkewNote(remoteTime: number | undefined, sentAt: number, receivedAt: number): string | undefined {
  if (remoteTime === undefined) return undefined
  const skew = remoteTime - (sentAt + receivedAt) / 2
  const margin = (receivedAt - sentAt) / 2
  if (Math.abs(skew) - margin < CLOCK_NOTE_MS) return undefined
  const secs = (Math.abs(skew) / 1000).toFixed(1)
  return `the target's clock is ${secs} s ${skew > 0 ? 'ahead of' : 'behind'} this host's (give or take ${Math.ceil(margin)} ms): the container sees its wall clock jump by that much when it moves`
}

// The two halves of a migration's rollback that act on what runs (orchestrate.ts decides the outcome): the
// source's work still in flight is brought to an end, and the target's agent is asked to undo its part.
import type {AgentClient} from './agent/client'
import {AGENT_LEASE_MS} from './agent/protocol'
import type {MigrationDump} from './dump'
import {withTimeout} from './failures'
import type {PagePushPlan} from './page-push'
import type {PreCopy} from './pre-copy'
import type {FreezeReady} from './freeze-prep'

export interface SourceWork {
  /** what the freeze needs, made during the sync */
  forFreeze?: Promise<FreezeReady>
  preCopy?: PreCopy
  dump?: MigrationDump
  push?: PagePushPlan
}

/** Waits for the source's work in flight to end; a dump ends by failing or by being aborted, never killed mid-dump. */
export async function settleSourceWork(w: SourceWork): Promise<void> {
  const ready = await w.forFreeze?.catch(() => undefined)
  await w.preCopy?.settle()
  if (!w.dump) {
    // the freeze never came: the criu waiting for the dump ends, its fds close
    ready?.dump?.discard()
    return
  }
  // stop-copy over the page link: closing the link makes the dump fail by itself (criu takes its parasite out),
  // where a link stalled by a vanished target would leave the wait below to TCP's retries
  w.push?.link.destroy()
  // never kill criu while it dumps (the parasite would stay in the tasks): wait until it serves pages or is done
  await w.dump.ready.catch(() => undefined)
  w.dump.abort()
  await w.dump.done.catch(() => undefined)
}

/**
 * Asks the target's agent to undo its part. `clean`: the agent said everything was undone; `problems`: what it could
 * not undo, or why it could not be asked; a note goes to `notes` when the agent is out of reach (it undoes by itself).
 */
export async function undoOnTarget(agent: AgentClient | undefined, cause: string, notes: string[]): Promise<{clean: boolean; problems: string[]}> {
  if (!agent) return {clean: false, problems: []}
  if (!agent.alive) {
    notes.push(`the target could not be reached: its agent undoes its part by itself once it has not heard from this host for ${AGENT_LEASE_MS / 1000} s`)
    return {clean: false, problems: []}
  }
  try {
    const {notUndone} = await withTimeout(agent.request('abort', {reason: cause}), 60_000, 'abort on the target')
    return {clean: notUndone.length === 0, problems: notUndone.map((u) => `target: ${u}`)}
  } catch (e) {
    return {clean: false, problems: [`target: ${(e as Error).message}`]}
  }
}

// The source's half of the target's criu restore started ahead of time (agent/held-restore.ts): the layout its dump
// will have (core/lifecycle/checkpoint.ts restoreLayout), sent after write-config, while the container still runs.
// Whatever goes wrong here costs only the time it would have saved: the target's restore spawns criu as before.
import {debug} from '../core/log'
import type {Runtime} from '../core/runtime'
import {restoreLayout, type SkeletonLevel} from '../core/lifecycle/checkpoint'
import type {AgentClient} from './agent/client'
import type {RestoreRequest} from './agent/protocol'

export interface HoldRestoreInput {
  /** the container's id here */
  id: string
  bundleDir: string
  stdio: RestoreRequest['stdio']
  /** as the dump will be taken (startDump's options) */
  externalNetns: boolean
  tmpfsSkeletons: SkeletonLevel
}

/** Resolves when the target answered (or could not); never rejects. OCIRT_HOLD_RESTORE=0 skips it (to compare). */
export async function holdTargetRestore(rt: Runtime, agent: AgentClient, o: HoldRestoreInput): Promise<boolean> {
  if (process.env.OCIRT_HOLD_RESTORE === '0') return false
  try {
    const layout = restoreLayout(rt, o.id, {externalNetns: o.externalNetns, tmpfsSkeletons: o.tmpfsSkeletons})
    if (!layout) {
      debug('migrate: no criu restore ahead of time on the target (a terminal, namespaces joined by path, or fds above 2)')
      return false
    }
    const {held} = await agent.request('prepare-restore', {id: o.id, bundleDir: o.bundleDir, stdio: o.stdio, layout})
    debug(`migrate: the target's criu restore ${held ? 'waits at its gate' : 'starts in the freeze (it cannot be held there)'}`)
    return held
  } catch (err) {
    debug(`migrate: no criu restore ahead of time on the target: ${(err as Error).message}`)
    return false
  }
}

// pause / resume: freeze and thaw every process of the container through its cgroup's freezer.
import {OcirtError} from '../errors'
import type {Runtime} from '../runtime'
import {reopenCgroup} from '../cgroups'
import {lockForOperation} from './container'
import {debug} from '../log'

export async function pause(rt: Runtime, id: string, verb = 'pause'): Promise<void> {
  await setFrozen(rt, id, true, verb)
}

export async function resume(rt: Runtime, id: string, verb = 'resume'): Promise<void> {
  await setFrozen(rt, id, false, verb)
}

async function setFrozen(rt: Runtime, id: string, frozen: boolean, verb: string): Promise<void> {
  const t0 = performance.now()
  const {unlock, ...loaded} = await lockForOperation(rt, id, frozen ? 'pause' : 'resume', verb)
  try {
    const t1 = performance.now()
    const cgroup = reopenCgroup(loaded.facts.cgroup, {id, rootless: loaded.facts.rootless, verb})
    if (!cgroup.exists()) throw new OcirtError('the container has no cgroup to freeze (rootless without a delegated cgroup)', {verb, id})
    const t2 = performance.now()
    cgroup.setFrozen(frozen)
    debug(`${verb} ${id}: ${frozen ? 'freeze' : 'thaw'}: state and lock ${(t1 - t0).toFixed(1)} ms, cgroup ${(t2 - t1).toFixed(1)} ms, freezer ${(performance.now() - t2).toFixed(1)} ms`)
  } finally {
    unlock()
  }
}

// A restore under the id of a container that `checkpoint` (without --leave-running) left stopped takes the id
// over: the stopped record is removed as `delete` removes it (cgroup, state directory; its poststop hooks ran at the
// checkpoint, or run now for a record older than that), then the
// restore reserves the id as usual. Any other container holding the id (created, running, paused, or stopped
// without a checkpoint) keeps it, and the restore fails with runc's "already exists". The images are not touched.
import * as fs from 'node:fs'
import {InvalidInput, OcirtError, SENTINEL} from '../errors'
import type {Runtime} from '../runtime'
import {containerDir} from '../state/store'
import {lockContainer, type Unlock} from '../state/lock'
import {loadContainer, type Loaded} from './container'
import {deleteLocked} from './delete'
import {debug} from '../log'

/**
 * Removes the checkpointed, stopped container `id` if there is one; true when it did. Called by restore only after
 * its input checks passed, so a restore refused for bad input leaves the stopped record in place.
 */
export async function takeOverCheckpointed(rt: Runtime, id: string, verb: string): Promise<boolean> {
  if (!fs.existsSync(containerDir(rt, id))) return false
  // first without the lock: a container that is running (a lazy checkpoint still serving its pages holds the
  // lock until the restore has fetched them all) is refused at once instead of after the lock's timeout
  if (!takeable(rt, id, verb)) return false
  let unlock: Unlock
  try {
    unlock = await lockContainer(rt, id, verb)
  } catch (err) {
    if (isNotExist(err)) return false // deleted meanwhile: the id is free
    throw err
  }
  try {
    const loaded = takeable(rt, id, verb)
    if (!loaded) return false
    await deleteLocked(rt, loaded, {}, verb)
    debug(`${verb} ${id}: took over the container stopped by its checkpoint into ${loaded.facts.checkpointed?.imagePath}`)
    return true
  } finally {
    unlock()
  }
}

/** The stopped, checkpointed container `id`; undefined when there is none any more; runc's error for anything else. */
function takeable(rt: Runtime, id: string, verb: string): Loaded | undefined {
  let loaded: Loaded
  try {
    loaded = loadContainer(rt, id, verb)
  } catch (err) {
    if (isNotExist(err)) return undefined
    // a directory without (valid) state is no container to take over: reserveId's answer, as before
    throw new InvalidInput(SENTINEL.exists, {verb, id})
  }
  if (loaded.status !== 'stopped' || !loaded.facts.checkpointed) throw new InvalidInput(SENTINEL.exists, {verb, id})
  return loaded
}

function isNotExist(err: unknown): boolean {
  return err instanceof OcirtError && err.message.includes(SENTINEL.notExist)
}

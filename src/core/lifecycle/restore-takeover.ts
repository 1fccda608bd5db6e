// A restore under the id of a container that `checkpoint` (without --leave-running) left stopped takes the id
// over: the stopped record is removed as `delete` removes it (poststop hooks, cgroup, state directory), then the
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
  const exists = () => new InvalidInput(SENTINEL.exists, {verb, id})
  let unlock: Unlock
  try {
    unlock = await lockContainer(rt, id, verb)
  } catch (err) {
    if (isNotExist(err)) return false // deleted meanwhile: the id is free
    throw err
  }
  try {
    let loaded: Loaded
    try {
      loaded = loadContainer(rt, id, verb)
    } catch (err) {
      if (isNotExist(err)) return false
      // a directory without (valid) state: not a container to take over; reserveId's answer, as before
      throw exists()
    }
    if (loaded.status !== 'stopped' || !loaded.facts.checkpointed) throw exists()
    await deleteLocked(rt, loaded, {}, verb)
    debug(`${verb} ${id}: took over the container stopped by its checkpoint into ${loaded.facts.checkpointed.imagePath}`)
    return true
  } finally {
    unlock()
  }
}

function isNotExist(err: unknown): boolean {
  return err instanceof OcirtError && err.message.includes(SENTINEL.notExist)
}

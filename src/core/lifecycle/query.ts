// state, list and ps: read-only views of containers. No lock: state files are replaced atomically.
import type {Runtime} from '../runtime'
import type {OciState} from '../state/facts'
import {listIds} from '../state/store'
import {reopenCgroup} from '../cgroups'
import {loadContainer, ociState, pidsWithoutCgroup, requireAllowed} from './container'

export function state(rt: Runtime, id: string, verb = 'state'): OciState {
  const {facts, status} = loadContainer(rt, id, verb)
  return ociState(facts, status)
}

/** Every container under the root; a directory whose state cannot be read is skipped, as runc does. */
export function list(rt: Runtime): OciState[] {
  const out: OciState[] = []
  for (const id of listIds(rt)) {
    try {
      out.push(state(rt, id, 'list'))
    } catch {
      // half-created or foreign directory
    }
  }
  return out
}

/** Host pids of every process in the container's cgroup (without one: in its pid namespace). */
export function ps(rt: Runtime, id: string, verb = 'ps'): number[] {
  const loaded = loadContainer(rt, id, verb)
  requireAllowed('ps', loaded, verb)
  const cgroup = reopenCgroup(loaded.facts.cgroup, {id, rootless: loaded.facts.rootless, verb})
  if (cgroup.exists()) return cgroup.pids(true)
  return loaded.status === 'stopped' ? [] : pidsWithoutCgroup(loaded.facts)
}

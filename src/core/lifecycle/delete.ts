// delete: remove a stopped (or created) container: its processes, cgroup and state; --force kills a running
// one first. Poststop hooks run once the processes are gone; their failures are only warnings (the spec).
// A container stopped by a checkpoint is removed the same way, except that its poststop hooks ran at the checkpoint
// already, and what its cgroup holds by now is not its own: CRIU killed its tasks, so processes there belong to a
// restore under another id into the same cgroup.
import {OcirtError, SENTINEL} from '../errors'
import type {Runtime} from '../runtime'
import {hasStateFile, loadConfig, removeContainerDir, validateId} from '../state/store'
import {waitInitGone} from '../state/status'
import {lockContainer} from '../state/lock'
import {reopenCgroup} from '../cgroups'
import {SIGKILL} from '../cgroups/manager'
import {runHooksWarnOnly} from '../hooks'
import {hookState, loadContainer, type Loaded} from './container'
import {debug} from '../log'

export interface DeleteOptions {
  force?: boolean
}


export async function deleteContainer(rt: Runtime, id: string, opts: DeleteOptions = {}, verb = 'delete'): Promise<void> {
  validateId(id, verb)
  if (!hasStateFile(rt, id)) {
    // an aborted create can leave a directory without state.json: runc removes it, and --force succeeds
    // (without --force runc still answers "does not exist", which containerd's shim ignores)
    removeContainerDir(rt, id)
    if (opts.force) return
    throw new OcirtError(SENTINEL.notExist, {verb, id})
  }
  const unlock = await lockContainer(rt, id, verb)
  try {
    await deleteLocked(rt, loadContainer(rt, id, verb), opts, verb)
  } finally {
    unlock()
  }
}

/** delete's work on a container whose lock the caller holds (delete itself, restore taking over a checkpointed id). */
export async function deleteLocked(rt: Runtime, loaded: Loaded, opts: DeleteOptions, verb: string): Promise<void> {
  const {facts, status} = loaded
  const id = facts.id
  if ((status === 'running' || status === 'paused') && !opts.force) {
    throw new OcirtError(`cannot delete container ${id} that is not stopped: ${status}`, {verb, id})
  }
  const spec = loadConfig(rt, id, verb)
  const cgroup = reopenCgroup(facts.cgroup, {id, rootless: facts.rootless, verb})
  const ownPidNs = (spec.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path)
  const checkpointed = status === 'stopped' && facts.checkpointed !== undefined
  let keepCgroup = false
  if (status !== 'stopped') {
    // with its own pid namespace, the init's death takes every process of the container with it; a shared
    // cgroupsPath must not cost the neighbours their processes. A paused cgroup is thawed by killAll.
    if (cgroup.exists() && (status === 'paused' || !ownPidNs)) cgroup.killAll(SIGKILL)
    else signalQuietly(facts.pid, SIGKILL)
    await waitInitGone(facts)
  } else if (checkpointed) {
    keepCgroup = cgroup.exists() && cgroup.pids(true).length > 0
    if (keepCgroup) debug(`${verb} ${id}: its cgroup ${facts.cgroup.path} holds another container's processes now: left alone`)
  } else if (!ownPidNs && cgroup.exists() && cgroup.pids(true).length) {
    // the init is gone but it left processes behind (no pid namespace): they die with the container
    cgroup.killAll(SIGKILL)
  }
  if (!facts.checkpointed?.poststopRan) await runHooksWarnOnly('poststop', spec.hooks?.poststop, hookState(facts, 'stopped'), {verb, id, bundle: facts.bundle})
  let cgroupError: unknown
  try {
    if (!keepCgroup) cgroup.destroy()
  } catch (err) {
    cgroupError = err
  }
  // like runc, the container is gone even when its cgroup could not be removed: a retry must not run the
  // poststop hooks (network teardown) again
  removeContainerDir(rt, id)
  if (cgroupError) {
    throw new OcirtError(`cannot remove cgroup ${facts.cgroup.path}: ${(cgroupError as Error).message}`, {verb, id, step: 'remove cgroup'})
  }
}

function signalQuietly(pid: number, sig: number): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

// delete: remove a stopped (or created) container: its processes, cgroup and state; --force kills a running
// one first. Poststop hooks run once the processes are gone; their failures are only warnings (the spec).
import * as fs from 'node:fs'
import {OcirtError, SENTINEL} from '../errors'
import type {Runtime} from '../runtime'
import {containerDir, hasStateFile, loadConfig, removeContainerDir, validateId} from '../state/store'
import {initAlive} from '../state/status'
import {lockContainer} from '../state/lock'
import {reopenCgroup} from '../cgroups'
import {runHooksWarnOnly} from '../hooks'
import {hookState, loadContainer} from './container'

export interface DeleteOptions {
  force?: boolean
}

const SIGKILL = 9

export async function deleteContainer(rt: Runtime, id: string, opts: DeleteOptions = {}, verb = 'delete'): Promise<void> {
  validateId(id, verb)
  if (!hasStateFile(rt, id)) {
    // an aborted create can leave a directory without state.json: runc removes it, and --force succeeds
    const existed = fs.existsSync(containerDir(rt, id))
    removeContainerDir(rt, id)
    if (opts.force) return
    if (!existed) throw new OcirtError(SENTINEL.notExist, {verb, id})
    throw new OcirtError(SENTINEL.notExist, {verb, id})
  }
  const unlock = await lockContainer(rt, id, verb)
  try {
    const loaded = loadContainer(rt, id, verb)
    const {facts, status} = loaded
    if ((status === 'running' || status === 'paused') && !opts.force) {
      throw new OcirtError(`cannot delete container ${id} that is not stopped: ${status}`, {verb, id})
    }
    const cgroup = reopenCgroup(facts.cgroup, {id, rootless: facts.rootless, verb})
    if (status !== 'stopped') {
      if (cgroup.exists()) cgroup.killAll(SIGKILL)
      else process.kill(facts.pid, SIGKILL)
      await waitGone(facts)
    } else if (cgroup.exists() && cgroup.pids(true).length) {
      // the init is gone but it left processes behind (no pid namespace): they die with the container
      cgroup.killAll(SIGKILL)
    }
    const spec = loadConfig(rt, id, verb)
    await runHooksWarnOnly('poststop', spec.hooks?.poststop, hookState(facts, 'stopped'), {verb, id})
    try {
      cgroup.destroy()
    } catch (err) {
      throw new OcirtError(`cannot remove cgroup ${facts.cgroup.path}: ${(err as Error).message}`, {verb, id, step: 'remove cgroup'})
    }
    removeContainerDir(rt, id)
  } finally {
    unlock()
  }
}

async function waitGone(facts: {pid: number; pidStartTime: string}): Promise<void> {
  for (let i = 0; i < 1000 && initAlive(facts); i++) await new Promise((r) => setTimeout(r, i < 50 ? 1 : 10))
}

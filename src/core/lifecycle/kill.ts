// kill: send a signal to the container's init, or with --all to every process in its cgroup (or, without a
// cgroup, in its pid namespace).
import {OcirtError, SENTINEL} from '../errors'
import type {Runtime} from '../runtime'
import {reopenCgroup} from '../cgroups'
import {parseSignal} from '../signals'
import {loadContainer, pidsWithoutCgroup, requireAllowed} from './container'

export interface KillOptions {
  all?: boolean
}

export function kill(rt: Runtime, id: string, signal: string | number, opts: KillOptions = {}, verb = 'kill'): void {
  const loaded = loadContainer(rt, id, verb)
  const sig = typeof signal === 'number' ? signal : parseSignal(signal, {verb, id})
  if (opts.all) {
    // runc: --all on a stopped container is not an error (its cgroup may still hold stray processes)
    const cgroup = reopenCgroup(loaded.facts.cgroup, {id, rootless: loaded.facts.rootless, verb})
    if (cgroup.exists()) cgroup.killAll(sig)
    else if (loaded.status !== 'stopped') {
      // no cgroup (rootless, nothing delegated): the other processes of its pid namespace, then the init
      for (const pid of pidsWithoutCgroup(loaded.facts)) {
        if (pid === loaded.facts.pid) continue
        try {
          process.kill(pid, sig)
        } catch {
          // exited meanwhile
        }
      }
      signalPid(loaded.facts.pid, sig, {verb, id})
    }
    return
  }
  requireAllowed('kill', loaded, verb)
  signalPid(loaded.facts.pid, sig, {verb, id})
}

export function signalPid(pid: number, sig: number, ctx: {verb: string; id: string}): void {
  try {
    process.kill(pid, sig)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ESRCH') throw new OcirtError(SENTINEL.notRunning, ctx)
    throw new OcirtError(`cannot send signal ${sig}`, {...ctx, step: 'kill', errno: code})
  }
}

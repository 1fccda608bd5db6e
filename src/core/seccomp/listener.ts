// SCMP_ACT_NOTIFY: the helper announces the listener fd it got from seccomp(2) (SECCOMP_FD frame); ocirt takes
// a copy with pidfd_getfd and sends it to the agent at linux.seccomp.listenerPath, with SCM_RIGHTS, together
// with the container process state (runtime-spec config-linux.md, "The Container Process State").
import * as fs from 'node:fs'
import {OcirtError, wrapSysError} from '../errors'
import type {Listener} from './compile'

export interface ContainerProcessState {
  ociVersion: string
  fds: string[]
  pid: number
  /** listenerMetadata; left out when empty, as the spec's Go types (and so runc) leave it out */
  metadata?: string
  state: Record<string, unknown>
}

export function processState(listener: Listener, pid: number, stateJson: string): ContainerProcessState {
  const state = JSON.parse(stateJson) as Record<string, unknown>
  return {ociVersion: String(state.ociVersion), fds: ['seccompFd'], pid, ...(listener.metadata ? {metadata: listener.metadata} : {}), state}
}

/** Takes fd `fdInProcess` of process `pid` and sends it with the state to the listener; our copy is closed. */
export function sendListener(listener: Listener, pid: number, fdInProcess: number, stateJson: string, ctx: {verb: string; id: string}): void {
  const step = `send the seccomp listener to ${listener.path}`
  const {getFdOf} = require('../sys/proc') as typeof import('../sys/proc')
  const {sendFdToSocket} = require('../sys/send-fd') as typeof import('../sys/send-fd')
  let fd: number
  try {
    fd = getFdOf(pid, fdInProcess)
  } catch (err) {
    throw wrapSysError(err, {...ctx, step})
  }
  try {
    sendFdToSocket(listener.path, fd, Buffer.from(JSON.stringify(processState(listener, pid, stateJson))))
  } catch (err) {
    if (err instanceof OcirtError) throw new OcirtError(err.step ?? err.message, {...ctx, step, errno: err.errno})
    throw wrapSysError(err, {...ctx, step})
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * The helper reports every failure with an ERROR frame, unless the filter it loaded denies the very send(2) it
 * reports with (or kills it): a silent end after a filter went in is most likely the profile's doing.
 */
export function silentEndUnderFilter(ctx: {verb: string; id: string; step: string}): OcirtError {
  return new OcirtError('the container process ended without a word after its seccomp filter was loaded: the profile likely denies a syscall ocirt needs before execve (docs/seccomp.md lists them)', ctx)
}

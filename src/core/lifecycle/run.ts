// run: create + start. Detached, it returns once the process runs. In the foreground, the helper waits for
// the container and exits with its status; ocirt forwards signals to the container, then deletes it.
import {InvalidInput} from '../errors'
import type {Runtime} from '../runtime'
import {create, type CreateOptions} from './create'
import {start} from './start'
import {deleteContainer} from './delete'
import {debug, warn} from '../log'
import {attachTerminal, type AttachedTerminal} from '../console'

export interface RunOptions extends Omit<CreateOptions, 'detach'> {
  detach?: boolean
  keep?: boolean
}

const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU']

export async function run(rt: Runtime, opts: RunOptions): Promise<number> {
  const verb = 'run'
  if (opts.detach && opts.keep) throw new InvalidInput('--detach and --keep cannot both be used', {verb, id: opts.id})
  if (opts.detach) {
    await create(rt, {...opts, detach: true, verb})
    await startOrCleanUp(rt, opts.id, verb)
    return 0
  }
  let terminal: AttachedTerminal | undefined
  const onConsole = (master: number) => (terminal = attachTerminal(master))
  const {facts, session} = await create(rt, {...opts, detach: false, verb, onConsole})
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(facts.pid, sig)
    } catch {
      // the container is gone; its exit status is on the way
    }
  }
  for (const s of FORWARDED) process.on(s, forward)
  try {
    await startOrCleanUp(rt, opts.id, verb)
    debug(`run ${opts.id}: started`)
    const exit = await session.exited
    debug(`run ${opts.id}: container exited`)
    // let the last output of the container drain from the pty before restoring the terminal
    if (terminal) await Promise.race([terminal.closed, new Promise((r) => setTimeout(r, 200))])
    return exit.code ?? 128 + (exit.signal ? signalNumber(exit.signal) : 0)
  } finally {
    terminal?.detach()
    for (const s of FORWARDED) process.off(s, forward)
    if (!opts.keep) {
      await deleteContainer(rt, opts.id, {force: true}, verb).catch((err) => warn((err as Error).message))
      debug(`run ${opts.id}: deleted`)
    }
  }
}

async function startOrCleanUp(rt: Runtime, id: string, verb: string): Promise<void> {
  try {
    await start(rt, id, verb)
  } catch (err) {
    await deleteContainer(rt, id, {force: true}, verb).catch(() => undefined)
    throw err
  }
}

function signalNumber(sig: NodeJS.Signals): number {
  return (require('node:os') as typeof import('node:os')).constants.signals[sig] ?? 0
}

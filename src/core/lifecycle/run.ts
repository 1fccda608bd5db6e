// run: create + start. Detached, it returns once the process runs. In the foreground, the helper waits for
// the container and exits with its status; ocirt forwards signals to the container, then deletes it.
import {InvalidInput} from '../errors'
import type {Runtime} from '../runtime'
import {create, type CreateOptions, type Created} from './create'
import {startLocked} from './start'
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
    await startOrCleanUp(rt, await create(rt, {...opts, detach: true, verb, keepLock: true}), verb)
    return 0
  }
  let terminal: AttachedTerminal | undefined
  const onConsole = (master: number) => (terminal = attachTerminal(master))
  const created = await create(rt, {...opts, detach: false, verb, onConsole, keepLock: true})
  const {facts, session} = created
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(facts.pid, sig)
    } catch {
      // the container is gone; its exit status is on the way
    }
  }
  for (const s of FORWARDED) process.on(s, forward)
  try {
    await startOrCleanUp(rt, created, verb)
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

/**
 * Starts what create made, with the lock create kept: nothing else can have changed the container since (a
 * concurrent start or delete waits for the lock), so neither the lock nor state.json is taken again. The lock is
 * released once the process runs: a foreground container may run for long, and pause, update or checkpoint of it
 * must not wait behind us.
 */
async function startOrCleanUp(rt: Runtime, created: Created, verb: string): Promise<void> {
  const id = created.facts.id
  try {
    await startLocked(rt, created.facts, created.spec, verb)
  } catch (err) {
    created.unlock()
    await deleteContainer(rt, id, {force: true}, verb).catch(() => undefined)
    throw err
  }
  created.unlock()
}

function signalNumber(sig: NodeJS.Signals): number {
  return (require('node:os') as typeof import('node:os')).constants.signals[sig] ?? 0
}

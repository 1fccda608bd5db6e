// `ocirt create`: flags as runc's create.
import {defineVerb, type FlagSpec, type FlagValues, type VerbContext} from './types'
import {create, type CreateOptions} from '../../core/lifecycle/create'
import {UsageError} from './argv'

export const CREATE_FLAGS: Record<string, FlagSpec> = {
  bundle: {type: 'string', char: 'b', description: 'path to the root of the bundle directory, defaults to the current directory'},
  'console-socket': {type: 'string', description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
  'pid-file': {type: 'string', description: 'specify the file to write the process id to'},
  'no-pivot': {type: 'boolean', description: 'do not use pivot root to jail process inside rootfs (for a rootfs on a ramdisk)'},
  'no-new-keyring': {type: 'boolean', description: 'do not create a new session keyring for the container'},
  'preserve-fds': {type: 'integer', description: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)', default: 0},
}

export const verb = defineVerb({
  summary: 'create a container',
  description: 'The container waits on its exec fifo until `ocirt start` runs its process.',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: CREATE_FLAGS,
  async run({rt, args, flags}) {
    await create(rt, createOptionsFrom(args, flags))
  },
})

/** The options every verb that makes a container shares (create, run, restore), from CREATE_FLAGS. */
export function createOptionsFrom(args: VerbContext['args'], flags: FlagValues): CreateOptions {
  return {
    id: args.id!,
    bundle: (flags.bundle as string | undefined) ?? process.cwd(),
    pidFile: flags['pid-file'] as string | undefined,
    consoleSocket: flags['console-socket'] as string | undefined,
    noPivot: flags['no-pivot'] === true,
    noNewKeyring: flags['no-new-keyring'] === true,
    preserveFds: preservedFdCount(flags['preserve-fds'] as number),
  }
}

/**
 * runc passes $LISTEN_FDS socket-activation fds on top of --preserve-fds, but only when $LISTEN_PID names
 * this process (stale variables inherited from someone else's activation must not hand over an engine's fds).
 */
export function preservedFdCount(preserve: number): number {
  if (preserve < 0) throw new UsageError(`invalid value "${preserve}" for flag --preserve-fds: must not be negative`)
  const listen = Number(process.env.LISTEN_FDS ?? 0)
  const ours = process.env.LISTEN_PID === String(process.pid)
  return (ours && Number.isInteger(listen) && listen > 0 ? listen : 0) + (preserve || 0)
}

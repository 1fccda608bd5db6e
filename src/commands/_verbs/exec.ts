// `ocirt exec`: flags as runc's exec. Flag parsing stops at the first positional word (the id): the command and
// its own flags follow it. Returns the process's exit status (255 when exec itself fails, as runc).
import {defineVerb} from './types'
import {exec} from '../../core/lifecycle/exec'

export const verb = defineVerb({
  summary: 'execute new process inside the container',
  description: 'ocirt exec [command options] <container-id> <command> [command options]  || -p process.json <container-id>\n\n' +
    '"<command>" can\'t be empty unless a "-p" flag provided.',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {
    'console-socket': {type: 'string', description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
    cwd: {type: 'string', description: 'current working directory in the container'},
    env: {type: 'string', char: 'e', multiple: true, description: 'set environment variables'},
    tty: {type: 'boolean', char: 't', description: 'allocate a pseudo-TTY'},
    user: {type: 'string', char: 'u', description: 'UID (format: <uid>[:<gid>])'},
    'additional-gids': {type: 'string', char: 'g', multiple: true, description: 'additional gids'},
    process: {type: 'string', char: 'p', description: 'path to the process.json'},
    detach: {type: 'boolean', char: 'd', description: "detach from the container's process"},
    'pid-file': {type: 'string', description: 'specify the file to write the process id to'},
    'process-label': {type: 'string', description: 'set the asm process label for the process commonly used with selinux'},
    apparmor: {type: 'string', description: 'set the apparmor profile for the process'},
    'no-new-privs': {type: 'boolean', description: 'set the no new privileges value for the process'},
    cap: {type: 'string', char: 'c', multiple: true, description: 'add a capability to the bounding set for the process'},
    'preserve-fds': {type: 'integer', default: 0, description: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)'},
    cgroup: {type: 'string', multiple: true, description: 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.'},
    'ignore-paused': {type: 'boolean', description: 'allow exec in a paused container'},
  },
  stopAtPositional: true,
  variadic: true,
  async run({rt, args, rest, flags}) {
    const list = (name: string) => (flags[name] as string[] | undefined) ?? []
    return exec(rt, {
      id: args.id!,
      processFile: flags.process as string | undefined,
      args: rest,
      cwd: flags.cwd as string | undefined,
      env: list('env'),
      tty: flags.tty === true,
      user: flags.user as string | undefined,
      additionalGids: list('additional-gids'),
      caps: list('cap'),
      noNewPrivs: flags['no-new-privs'] as boolean | undefined,
      apparmor: flags.apparmor as string | undefined,
      processLabel: flags['process-label'] as string | undefined,
      cgroups: list('cgroup'),
      ignorePaused: flags['ignore-paused'] === true,
      detach: flags.detach === true,
      consoleSocket: flags['console-socket'] as string | undefined,
      pidFile: flags['pid-file'] as string | undefined,
      preserveFds: flags['preserve-fds'] as number,
    })
  },
})

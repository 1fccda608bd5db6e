// `ocirt restore [flags] ID`: runc's flags; the container comes back from CRIU images (core/lifecycle/restore.ts).
// In the foreground (no --detach) the exit status is the restored container's.
import {defineVerb} from './types'
import {restore} from '../../core/lifecycle/restore'

export const verb = defineVerb({
  summary: 'restore a container from a previous checkpoint',
  description: 'Restores the saved state of the container instance that was previously saved using the ocirt checkpoint command.',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {
    'console-socket': {type: 'string', description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
    'image-path': {type: 'string', description: 'path to criu image files for restoring'},
    'work-path': {type: 'string', description: 'path for saving work files and logs'},
    'tcp-established': {type: 'boolean', description: 'allow open tcp connections'},
    'ext-unix-sk': {type: 'boolean', description: 'allow external unix sockets'},
    'shell-job': {type: 'boolean', description: 'allow shell jobs'},
    'file-locks': {type: 'boolean', description: 'handle file locks, for safety'},
    'manage-cgroups-mode': {type: 'string', description: "cgroups mode: 'soft' (default), 'full', 'strict' and 'ignore'"},
    bundle: {type: 'string', char: 'b', description: 'path to the root of the bundle directory'},
    detach: {type: 'boolean', char: 'd', description: "detach from the container's process"},
    'pid-file': {type: 'string', description: 'specify the file to write the process id to'},
    'no-subreaper': {type: 'boolean', description: 'disable the use of the subreaper used to reap reparented processes'},
    'no-pivot': {type: 'boolean', description: 'do not use pivot root to jail process inside rootfs (CRIU restores the mount namespace itself)'},
    // runc's is a string slice, but "network" is its only value: a plain (repeatable) string flag keeps oclif's
    // greedy multiple-value parsing from eating the container id at the human door
    'empty-ns': {type: 'string', description: "create a namespace, but don't restore its properties (only \"network\")"},
    'auto-dedup': {type: 'boolean', description: 'enable auto deduplication of memory images'},
    'lazy-pages': {type: 'boolean', description: 'use userfaultfd to lazily restore memory pages'},
    'lsm-profile': {type: 'string', description: 'Specify an LSM profile to be used during restore in the form of TYPE:NAME.'},
    'lsm-mount-context': {type: 'string', description: 'Specify an LSM mount context to be used during restore.'},
  },
  async run({rt, args, flags}) {
    return restore(rt, {
      id: args.id!,
      bundle: (flags.bundle as string | undefined) ?? process.cwd(),
      imagePath: flags['image-path'] as string | undefined,
      workPath: flags['work-path'] as string | undefined,
      tcpEstablished: flags['tcp-established'] === true,
      extUnixSk: flags['ext-unix-sk'] === true,
      shellJob: flags['shell-job'] === true,
      fileLocks: flags['file-locks'] === true,
      manageCgroupsMode: flags['manage-cgroups-mode'] as string | undefined,
      detach: flags.detach === true,
      pidFile: flags['pid-file'] as string | undefined,
      consoleSocket: flags['console-socket'] as string | undefined,
      noSubreaper: flags['no-subreaper'] === true,
      noPivot: flags['no-pivot'] === true,
      emptyNs: flags['empty-ns'] === undefined ? undefined : [flags['empty-ns'] as string],
      autoDedup: flags['auto-dedup'] === true,
      lazyPages: flags['lazy-pages'] === true,
      lsmProfile: flags['lsm-profile'] as string | undefined,
      lsmMountContext: flags['lsm-mount-context'] as string | undefined,
    })
  },
})

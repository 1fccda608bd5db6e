// `ocirt checkpoint [flags] ID`: runc's flags; the container is dumped with CRIU (core/lifecycle/checkpoint.ts).
import {defineVerb} from './types'
import {checkpoint} from '../../core/lifecycle/checkpoint'

export const verb = defineVerb({
  summary: 'checkpoint a running container',
  description: 'The checkpoint command saves the state of the container instance (CRIU 4.x; docs/checkpoint.md).',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {
    'image-path': {type: 'string', description: 'path for saving criu image files'},
    'work-path': {type: 'string', description: 'path for saving work files and logs'},
    'parent-path': {type: 'string', description: 'path for previous criu image files in pre-dump'},
    'leave-running': {type: 'boolean', description: 'leave the process running after checkpointing'},
    'tcp-established': {type: 'boolean', description: 'allow open tcp connections'},
    'ext-unix-sk': {type: 'boolean', description: 'allow external unix sockets'},
    'shell-job': {type: 'boolean', description: 'allow shell jobs'},
    'lazy-pages': {type: 'boolean', description: 'use userfaultfd to lazily restore memory pages'},
    'status-fd': {type: 'integer', description: 'criu writes \\0 to this FD once lazy-pages is ready', default: -1},
    'page-server': {type: 'string', description: 'ADDRESS:PORT of the page server'},
    'file-locks': {type: 'boolean', description: 'handle file locks, for safety'},
    'pre-dump': {type: 'boolean', description: "dump container's memory information only, leave the container running after this"},
    'manage-cgroups-mode': {type: 'string', description: "cgroups mode: 'soft' (default), 'full', 'strict' and 'ignore'"},
    // runc's is a string slice, but "network" is its only value: a plain (repeatable) string flag keeps oclif's
    // greedy multiple-value parsing from eating the container id at the human door
    'empty-ns': {type: 'string', description: "create a namespace, but don't restore its properties (only \"network\")"},
    'auto-dedup': {type: 'boolean', description: 'enable auto deduplication of memory images'},
  },
  async run({rt, args, flags}) {
    await checkpoint(rt, args.id!, {
      imagePath: flags['image-path'] as string | undefined,
      workPath: flags['work-path'] as string | undefined,
      parentPath: flags['parent-path'] as string | undefined,
      leaveRunning: flags['leave-running'] === true,
      tcpEstablished: flags['tcp-established'] === true,
      extUnixSk: flags['ext-unix-sk'] === true,
      shellJob: flags['shell-job'] === true,
      lazyPages: flags['lazy-pages'] === true,
      statusFd: flags['status-fd'] as number | undefined,
      pageServer: flags['page-server'] as string | undefined,
      fileLocks: flags['file-locks'] === true,
      preDump: flags['pre-dump'] === true,
      manageCgroupsMode: flags['manage-cgroups-mode'] as string | undefined,
      emptyNs: flags['empty-ns'] === undefined ? undefined : [flags['empty-ns'] as string],
      autoDedup: flags['auto-dedup'] === true,
    })
  },
})

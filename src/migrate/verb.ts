// `ocirt migrate <id> --to [user@]host[:port] | k8s[:node] | <plugin target>`: live migration over SSH
// (orchestrate.ts). Served without oclif (~190 ms of every migration's start) by the fast door of the migration
// bundle (src/migrate-door.ts, dist/ocirt-migrate.js) when no plugin is installed; with plugins, whose
// migrate:target hooks only oclif runs, and for anything the fast parser refuses (flags after the id, which oclif
// reads; a usage error, worded by oclif), oclif serves it (VerbSpec.oclifFallback).
import {defineVerb} from '../commands/_verbs/types'
import {debug} from '../core/log'

export const verb = defineVerb({
  summary: 'move a running container to another host, live',
  description: `Checkpoints the container with CRIU, streams its images and bundle over SSH to the target, restores it there and
removes it here. The container runs on exactly one host at every moment, or is frozen on one with everything needed to
resume it: any failure resumes it here and undoes the target's part.

Modes (--mode auto picks the best both kernels allow): pre-copy moves the memory in rounds while the container runs
and freezes it for the pages dirtied since (the source kernel must track dirty memory); post-copy restores on the
target first and moves the memory after (userfaultfd); stop-copy moves everything while the container is frozen.

Targets: [user@]host[:port] over SSH (host key checked against known_hosts), k8s (a Ready, schedulable node labelled
migrate.ocirt.dev/enabled=true; see docs/migrate-targets.md), k8s:<node>, or any form a plugin's migrate:target hook answers.`,
  examples: [
    '<%= config.bin %> migrate web --to root@10.0.0.2',
    '<%= config.bin %> --root /run/ocirt migrate web --to k8s --remote-root /run/ocirt --json',
    '<%= config.bin %> migrate web --to node2:2222 -i ~/.ssh/migrate_ed25519 --remote-bundle /srv/bundles/web --dry-run',
  ],
  args: [{name: 'id', description: 'container id', required: true}],
  // the migration closes its connections and ends with the event loop, as through oclif
  naturalExit: true,
  oclifFallback: true,
  flags: {
    to: {type: 'string', required: true, description: 'target: [user@]host[:port], k8s, k8s:<node>, or a plugin form'},
    identity: {type: 'string', char: 'i', multiple: true, description: 'SSH private key file (repeatable; default: ~/.ssh/id_* and ssh-agent)'},
    'known-hosts': {type: 'string', description: 'known_hosts file that must hold the target host key (default ~/.ssh/known_hosts)'},
    'accept-new-host-key': {type: 'boolean', description: 'trust and record an unknown host key (a changed key is always refused)'},
    'remote-ocirt': {type: 'string', description: 'the ocirt command on the target (default: ocirt)'},
    'remote-root': {type: 'string', description: "ocirt's --root on the target (default: the target's default)"},
    'remote-bundle': {type: 'string', description: 'bundle directory on the target (default: the same path as here)'},
    'new-id': {type: 'string', description: 'the container id on the target (default: the same id)'},
    'target-cgroups-path': {type: 'string', description: "linux.cgroupsPath on the target (default: the container's)"},
    mode: {type: 'string', description: 'migration mode', options: ['auto', 'post-copy', 'pre-copy', 'stop-copy'], default: 'auto'},
    'page-transport': {type: 'string', description: 'how the memory travels: tls (post-copy: straight from this host; stop-copy: from the dump straight to a page server on the target; mutual TLS with keys made for this migration), ssh (through the SSH connection), auto (tls when it works between the two hosts, tried before the freeze)', options: ['auto', 'ssh', 'tls'], default: 'auto'},
    'page-congestion': {type: 'string', description: "post-copy: TCP congestion control of the page server's connection, which goes idle between the target's requests (BBR stalls there on fast links); system: the host's default", default: 'cubic'},
    'downtime-budget': {type: 'integer', min: 0, description: 'pre-copy: stop the rounds once the dirty memory left would cross the link in this many ms (default 500)'},
    'max-rounds': {type: 'integer', min: 1, description: 'pre-copy: at most this many rounds before the freeze (default 8)'},
    'dry-run': {type: 'boolean', description: 'run the preflight only: connect, check both hosts, change nothing'},
    json: {type: 'boolean', description: 'print the summary as JSON on stdout'},
    quiet: {type: 'boolean', char: 'q', description: 'no progress lines on stderr'},
    'tcp-established': {type: 'boolean', description: 'allow open TCP connections (they move with the container)'},
    'ext-unix-sk': {type: 'boolean', description: 'allow external unix sockets'},
    'file-locks': {type: 'boolean', description: 'handle file locks'},
    'manage-cgroups-mode': {type: 'string', description: "CRIU's cgroups mode: soft (default), full, strict, ignore"},
    'console-socket': {type: 'string', description: 'a container with a terminal: unix socket on the target that receives the new pty master (as runc restore --console-socket)'},
    kubeconfig: {type: 'string', description: 'kubeconfig for --to k8s (default: KUBECONFIG, ~/.kube/config or in-cluster)'},
    context: {type: 'string', description: 'kubeconfig context for --to k8s'},
  },
  async run({rt, args, flags, stdout, oclifConfig}) {
    debug(`migrate: command parsed (process up ${Math.round(performance.now())} ms, ${oclifConfig ? 'through oclif' : 'fast door'})`)
    // bin/ocirt set it aside (it costs every Node start a CA bundle's parse); children may make TLS connections
    // (a kubeconfig's exec credential plugin), as they could when oclif, which puts it back, served migrate
    const savedCaCerts = process.env.OCIRT_SAVED_NODE_EXTRA_CA_CERTS
    if (savedCaCerts) process.env.NODE_EXTRA_CA_CERTS = savedCaCerts
    const {resolveTarget} = await import('./target-hook')
    const {migrate} = await import('./orchestrate')
    const {MigrationFailed} = await import('./options')
    const {summaryText} = await import('./report')
    debug('migrate: its modules loaded')
    const id = args.id!
    const print = (s: object & Parameters<typeof summaryText>[0]) => stdout(flags.json ? `${JSON.stringify(s, null, 2)}\n` : summaryText(s))
    const str = (name: string) => flags[name] as string | undefined
    try {
      // plugins are asked only through oclif, which runs their hooks (the fast door serves only when none is installed)
      const chosen = await resolveTarget(oclifConfig as Parameters<typeof resolveTarget>[0], {id, to: str('to')!, k8s: {kubeconfig: str('kubeconfig'), context: str('context')}})
      const {target} = chosen
      debug('migrate: target resolved')
      const notes = typeof chosen.from === 'object' ? [`target chosen by plugin ${chosen.from.plugin}: ${target.label}`] : []
      for (const v of chosen.verdicts ?? []) notes.push(`k8s node ${v.node}: ${v.eligible ? (v.node === target.nodeName ? 'chosen' : 'eligible') : v.why}`)
      const summary = await migrate(rt, {
        id, target, mode: str('mode') as 'auto',
        auth: {identityFiles: flags.identity as string[] | undefined, knownHostsFile: str('known-hosts'), acceptNewHostKey: flags['accept-new-host-key'] === true},
        remoteOcirt: str('remote-ocirt'), remoteRoot: str('remote-root'), remoteBundle: str('remote-bundle'),
        newId: str('new-id'), targetCgroupsPath: str('target-cgroups-path'), dryRun: flags['dry-run'] === true,
        quiet: flags.quiet === true || flags.json === true, tcpEstablished: flags['tcp-established'] === true, extUnixSk: flags['ext-unix-sk'] === true,
        fileLocks: flags['file-locks'] === true, manageCgroupsMode: str('manage-cgroups-mode'), pageTransport: str('page-transport') as 'auto' | 'ssh' | 'tls',
        pageCongestion: str('page-congestion'),
        consoleSocket: str('console-socket'),
        preCopyRules: {
          ...(flags['downtime-budget'] !== undefined ? {downtimeBudgetMs: flags['downtime-budget'] as number} : {}),
          ...(flags['max-rounds'] !== undefined ? {maxRounds: flags['max-rounds'] as number} : {}),
        },
      })
      summary.notes.unshift(...notes)
      print(summary)
    } catch (err) {
      if (err instanceof MigrationFailed) print(err.summary)
      throw err
    }
  },
})

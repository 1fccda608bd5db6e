// `ocirt migrate <id> --to [user@]host[:port] | k8s[:node] | <plugin target>`: live migration over SSH
// (src/migrate/orchestrate.ts). An oclif command only: it is not on the engines' hot path, and plugins hook in.
import {Args, Command, Flags} from '@oclif/core'
import {oclifFlags} from './_base'
import {GLOBAL_FLAGS} from './_verbs/global-flags'
import {runtimeFrom} from './_verbs/runtime-from'
import type {FlagValues} from './_verbs/types'
import {configureLog, debug, reportError} from '../core/log'
import {OcirtError} from '../core/errors'

export default class Migrate extends Command {
  static override summary = 'move a running container to another host, live'
  static override description = `Checkpoints the container with CRIU, streams its images and bundle over SSH to the target, restores it there and
removes it here. The container runs on exactly one host at every moment, or is frozen on one with everything needed to
resume it: any failure resumes it here and undoes the target's part.

Modes (--mode auto picks the best both kernels allow): pre-copy moves the memory in rounds while the container runs
and freezes it for the pages dirtied since (the source kernel must track dirty memory); post-copy restores on the
target first and moves the memory after (userfaultfd); stop-copy moves everything while the container is frozen.

Targets: [user@]host[:port] over SSH (host key checked against known_hosts), k8s (a Ready, schedulable node labelled
migrate.ocirt.dev/enabled=true; see docs/migrate-targets.md), k8s:<node>, or any form a plugin's migrate:target hook answers.`
  static override examples = [
    '<%= config.bin %> migrate web --to root@10.0.0.2',
    '<%= config.bin %> --root /run/ocirt migrate web --to k8s --remote-root /run/ocirt --json',
    '<%= config.bin %> migrate web --to node2:2222 -i ~/.ssh/migrate_ed25519 --remote-bundle /srv/bundles/web --dry-run',
  ]
  static override args = {id: Args.string({description: 'container id', required: true})}
  static override baseFlags = oclifFlags(GLOBAL_FLAGS)
  static override flags = {
    to: Flags.string({description: 'target: [user@]host[:port], k8s, k8s:<node>, or a plugin form', required: true}),
    identity: Flags.string({char: 'i', description: 'SSH private key file (repeatable; default: ~/.ssh/id_* and ssh-agent)', multiple: true, multipleNonGreedy: true}),
    'known-hosts': Flags.string({description: 'known_hosts file that must hold the target host key (default ~/.ssh/known_hosts)'}),
    'accept-new-host-key': Flags.boolean({description: 'trust and record an unknown host key (a changed key is always refused)'}),
    'remote-ocirt': Flags.string({description: 'the ocirt command on the target (default: ocirt)'}),
    'remote-root': Flags.string({description: "ocirt's --root on the target (default: the target's default)"}),
    'remote-bundle': Flags.string({description: 'bundle directory on the target (default: the same path as here)'}),
    'new-id': Flags.string({description: 'the container id on the target (default: the same id)'}),
    'target-cgroups-path': Flags.string({description: "linux.cgroupsPath on the target (default: the container's)"}),
    mode: Flags.string({description: 'migration mode', options: ['auto', 'post-copy', 'pre-copy', 'stop-copy'], default: 'auto'}),
    'page-transport': Flags.string({description: 'how the memory travels: tls (post-copy: straight from this host; stop-copy: from the dump straight to a page server on the target; mutual TLS with keys made for this migration), ssh (through the SSH connection), auto (tls when it works between the two hosts, tried before the freeze)', options: ['auto', 'ssh', 'tls'], default: 'auto'}),
    'downtime-budget': Flags.integer({description: 'pre-copy: stop the rounds once the dirty memory left would cross the link in this many ms (default 500)', min: 0}),
    'max-rounds': Flags.integer({description: 'pre-copy: at most this many rounds before the freeze (default 8)', min: 1}),
    'dry-run': Flags.boolean({description: 'run the preflight only: connect, check both hosts, change nothing'}),
    json: Flags.boolean({description: 'print the summary as JSON on stdout'}),
    quiet: Flags.boolean({char: 'q', description: 'no progress lines on stderr'}),
    'tcp-established': Flags.boolean({description: 'allow open TCP connections (they move with the container)'}),
    'ext-unix-sk': Flags.boolean({description: 'allow external unix sockets'}),
    'file-locks': Flags.boolean({description: 'handle file locks'}),
    'manage-cgroups-mode': Flags.string({description: "CRIU's cgroups mode: soft (default), full, strict, ignore"}),
    'console-socket': Flags.string({description: 'a container with a terminal: unix socket on the target that receives the new pty master (as runc restore --console-socket)'}),
    kubeconfig: Flags.string({description: 'kubeconfig for --to k8s (default: KUBECONFIG, ~/.kube/config or in-cluster)'}),
    context: Flags.string({description: 'kubeconfig context for --to k8s'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Migrate)
    const globals = flags as unknown as FlagValues
    configureLog({file: globals.log as string | undefined, format: globals['log-format'] === 'json' ? 'json' : 'text', debug: globals.debug === true})
    const rt = runtimeFrom(globals)
    debug(`migrate: command parsed (process up ${Math.round(performance.now())} ms)`)
    const {resolveTarget} = await import('../migrate/target-hook')
    const {migrate, MigrationFailed} = await import('../migrate/orchestrate')
    const {summaryText} = await import('../migrate/report')
    debug('migrate: its modules loaded')
    const print = (s: object & Parameters<typeof summaryText>[0]) => process.stdout.write(flags.json ? `${JSON.stringify(s, null, 2)}\n` : summaryText(s))
    try {
      const chosen = await resolveTarget(this.config, {id: args.id, to: flags.to, k8s: {kubeconfig: flags.kubeconfig, context: flags.context}})
      const {target} = chosen
      debug('migrate: target resolved')
      const notes = typeof chosen.from === 'object' ? [`target chosen by plugin ${chosen.from.plugin}: ${target.label}`] : []
      for (const v of chosen.verdicts ?? []) notes.push(`k8s node ${v.node}: ${v.eligible ? (v.node === target.nodeName ? 'chosen' : 'eligible') : v.why}`)
      const summary = await migrate(rt, {
        id: args.id, target, mode: flags.mode as 'auto',
        auth: {identityFiles: flags.identity, knownHostsFile: flags['known-hosts'], acceptNewHostKey: flags['accept-new-host-key']},
        remoteOcirt: flags['remote-ocirt'], remoteRoot: flags['remote-root'], remoteBundle: flags['remote-bundle'],
        newId: flags['new-id'], targetCgroupsPath: flags['target-cgroups-path'], dryRun: flags['dry-run'],
        quiet: flags.quiet || flags.json, tcpEstablished: flags['tcp-established'], extUnixSk: flags['ext-unix-sk'],
        fileLocks: flags['file-locks'], manageCgroupsMode: flags['manage-cgroups-mode'], pageTransport: flags['page-transport'] as 'auto' | 'ssh' | 'tls',
        consoleSocket: flags['console-socket'],
        preCopyRules: {
          ...(flags['downtime-budget'] !== undefined ? {downtimeBudgetMs: flags['downtime-budget']} : {}),
          ...(flags['max-rounds'] !== undefined ? {maxRounds: flags['max-rounds']} : {}),
        },
      })
      summary.notes.unshift(...notes)
      print(summary)
    } catch (err) {
      if (err instanceof MigrationFailed) print(err.summary)
      throw err
    }
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<void> {
    if (!(err instanceof OcirtError)) return super.catch(err)
    reportError(err.message)
    process.exitCode = err.exitCode
  }
}

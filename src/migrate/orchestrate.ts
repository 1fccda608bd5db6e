// `ocirt migrate`: moves a running container to another host and keeps the promise that it runs on exactly one
// host at every moment, or is frozen on one with everything needed to resume it there.
//
//   connect ─ preflight ─ sync bundle ─┬─ freeze (pause) ─ dump ─ transfer ─ restore ─ [post-copy] ─ commit ─ delete source
//                                      └─ channels and tunnels opened here, before the freeze
//
// The source is frozen with the cgroup freezer and dumped with --leave-running, so it stays frozen and whole until
// the target says the container runs there and has all its memory (`commit`). Any failure before that resumes the
// source and makes the target undo its part; the target's agent also undoes everything by itself if the
// conversation ends without a commit (source gone, connection lost).
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../core/errors'
import type {Runtime} from '../core/runtime'
import {loadContainer} from '../core/lifecycle/container'
import {loadConfig} from '../core/state/store'
import {pause, resume} from '../core/lifecycle/pause'
import {deleteContainer} from '../core/lifecycle/delete'
import type {SkeletonLevel} from '../core/lifecycle/checkpoint'
import {collectGarbage} from '../core/util/collect-garbage'
import {debug} from '../core/log'
import {ensureKdatCache} from '../core/criu/kdat'
import {containerKernelMountPoints, memoryBytes, requireMovable} from './movable'
import {AgentClient} from './agent/client'
import {AGENT_LEASE_MS} from './agent/protocol'
import {hostFacts, type HostFacts} from './agent/facts'
import {planBundle, sizeOf} from './bundle-plan'
import {openUnpack, type UnpackChannel} from './channels'
import {sendChanges, sendImages, snapshotTrees} from './transfer'
import {bareCause} from './failures'
import {settleSourceWork, undoOnTarget} from './rollback'
import {clockSkewNote, preflight} from './preflight'
import {Reporter, type MigrationSummary} from './report'
import {startDump, type MigrationDump} from './dump'
import {PreCopy} from './pre-copy'
import {awaitPostCopy} from './post-copy'
import type {PageServerPlan} from './page-server'
import {holdTargetRestore} from './held-restore'
import {setMigrationCongestion} from './page-congestion'
import type {PagePushPlan} from './page-push'
import {prepareFreeze, type FreezeReady} from './freeze-prep'
import {connectSsh, type SshSession} from './ssh'
import {MigrationFailed, type MigrateOptions} from './options'

export {MigrationFailed, type MigrateOptions}

export async function migrate(rt: Runtime, o: MigrateOptions): Promise<MigrationSummary> {
  requireMovable(rt, o.id, {consoleSocket: o.consoleSocket})
  return new Migration(rt, o).run()
}

class Migration {
  private readonly rep: Reporter
  private readonly ctx: {verb: string; id: string}
  private readonly targetId: string
  private readonly summary: MigrationSummary
  private session?: SshSession
  private connecting?: Promise<SshSession>
  private agent?: AgentClient
  private pages?: PageServerPlan
  private push?: PagePushPlan
  private channels: UnpackChannel[] = []
  private staging?: string
  private frozen = false
  private dump?: MigrationDump
  private preCopy?: PreCopy
  /** the channels and page server made during the sync: a rollback waits for them (no probe or tunnel left behind) */
  private forFreeze?: Promise<FreezeReady>
  /** the restore was asked for: from then on the target may run a copy */
  private mayRunOnTarget = false
  private step = 'connect'
  /** rejects when the user interrupts (SIGINT, SIGTERM, SIGHUP): every long wait races it, so the rollback starts at once */
  private readonly interrupted: Promise<never>
  private interrupt!: (err: Error) => void
  private committing = false

  constructor(private readonly rt: Runtime, private readonly o: MigrateOptions) {
    this.rep = new Reporter(o.quiet === true)
    this.ctx = {verb: 'migrate', id: o.id}
    this.targetId = o.newId ?? o.id
    this.summary = {
      id: o.id, targetId: this.targetId, source: 'this host', target: o.target.label, outcome: 'failed', totalMs: 0,
      bytes: {bundle: 0, images: 0, delta: 0, pages: 0}, phases: this.rep.phases, notes: [],
    }
    this.interrupted = new Promise<never>((_, reject) => (this.interrupt = reject))
    this.interrupted.catch(() => undefined)
  }

  async run(): Promise<MigrationSummary> {
    let signalled = false
    const onSignal = (sig: NodeJS.Signals) => {
      // once the commit is sent the target owns the container: finish rather than undo
      if (this.committing) return this.rep.note(`${sig} ignored: the target is committing`)
      if (signalled) return this.rep.note(`${sig} ignored: already rolling back`)
      signalled = true
      this.rep.note(`${sig}: stopping and rolling back`)
      this.interrupt(new OcirtError(`interrupted by ${sig}`, {...this.ctx, step: this.step}))
    }
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
    for (const sig of signals) process.on(sig, onSignal)
    try {
      await this.go()
      return this.finish()
    } catch (err) {
      throw await this.fail(err as Error)
    } finally {
      for (const sig of signals) process.off(sig, onSignal)
      await this.disconnect()
    }
  }

  /** Waits for p unless the user interrupts first. */
  private guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.interrupted])
  }

  private async go(): Promise<void> {
    const {rt, o, rep} = this
    const {facts} = loadContainer(rt, o.id, 'migrate')
    const spec = loadConfig(rt, o.id, 'migrate')
    // a target's bundle directory (k8s annotation, plugin) is where bundles go: this one lands in <dir>/<id>
    const remoteBundle = path.resolve(o.remoteBundle ?? (o.target.remoteBundleDir ? path.join(o.target.remoteBundleDir, this.targetId) : facts.bundle))
    const plan = planBundle({bundle: facts.bundle, rootfs: facts.rootfs, spec, pid: facts.pid, remoteBundle, cgroupsPath: o.targetCgroupsPath})

    rep.begin('connect', o.target.label)
    this.connecting = connectSsh({host: o.target.host, port: o.target.port, user: o.target.user}, o.auth)
    this.connecting.catch(() => undefined) // awaited below
    // this host's own facts while the handshake goes on (criu's answers are cached per boot: ~10 ms, ~100 ms once)
    const localFacts = hostFacts(rt)
    const session = await this.guard(this.connecting)
    this.session = session
    const agentArgv = this.agentArgv()
    const proc = await session.exec(agentArgv)
    const agent = new AgentClient(proc.stdin as never, proc.stdout as never, proc.stderr as never, o.target.label)
    this.agent = agent
    if (rt.debug) proc.stderr.on('data', (b: Buffer) => process.stderr.write(b.toString().replace(/^ocirt: debug:/gm, 'target: debug:')))
    session.onClose((err) => agent.end(err ? `the SSH connection broke: ${err.message}` : 'the SSH connection closed'))
    void proc.exit.then((e) => agent.end(`it exited with ${e.code ?? e.signal}`), (err: Error) => agent.end(err.message))
    const helloSent = Date.now()
    const remote = await this.guard(agent.request('hello', {}))
    const clockNote = clockSkewNote(remote.time, helloSent, Date.now())
    rep.end(undefined, `ocirt ${remote.ocirt}, criu ${remote.criu.version ?? 'none'} on ${remote.hostname}`)

    this.step = 'preflight'
    rep.begin('preflight')
    const verdict = preflight(localFacts, remote, o.mode)
    this.summary.notes.push(...verdict.notes)
    if (clockNote) this.summary.notes.push(clockNote)
    if (!verdict.mode) throw new OcirtError(`preflight failed: ${verdict.problems.join('; ')}`, {...this.ctx, step: 'preflight'})
    const mode = verdict.mode
    this.summary.mode = mode
    const prep = await this.guard(agent.request('prepare', {
      id: this.targetId, bundleDir: remoteBundle, cgroupsPath: plan.config.linux?.cgroupsPath,
      bundleBytes: sizeOf(plan.items), imageBytes: memoryBytes(facts.cgroup), requiredPaths: plan.requiredPaths,
      kernelPaths: containerKernelMountPoints(facts.pid),
      consoleSocket: o.consoleSocket,
    }))
    if (plan.requiredPaths.length) this.summary.notes.push(`not copied, present on the target: ${plan.requiredPaths.join(', ')}`)
    rep.end(undefined, `mode ${mode}`)
    if (o.dryRun) {
      this.summary.outcome = 'dry-run'
      await agent.request('abort', {reason: 'dry run'})
      return
    }

    this.step = 'sync bundle'
    rep.begin('sync bundle', `${plan.items.map((i) => i.local).join(', ')} -> ${remoteBundle}`)
    const syncedAt = Date.now() - 10 // anything touched from here on is sent again during the freeze
    const before = await snapshotTrees(plan)
    this.staging = fs.mkdtempSync(path.join(ensureDir(path.join(rt.root, '.migrate')), `${o.id}.`))
    const staging = this.staging
    const syncChannels = plan.items.map((item) => this.channel(agentArgv, item.remote, prep.staging))
    for (const ch of syncChannels) ch.catch(() => undefined) // awaited by the sync
    // what the freeze needs is made while the bundle streams (freeze-prep.ts)
    const forFreeze = prepareFreeze({
      mode, transport: o.pageTransport ?? 'auto', session, agent, host: o.target.host, peer: remote.peer, staging, rt,
      imageDir: prep.imageDir, targetId: this.targetId, trees: plan.items.map((i) => i.remote), firstSync: syncChannels[0],
      openChannel: (dir) => this.channel(agentArgv, dir, prep.staging), onMemoryPath: (p) => {
        this.pages = p.pages
        this.push = p.push
      },
      notes: this.summary.notes, ctx: this.ctx,
    })
    forFreeze.catch(() => undefined) // awaited below, or raced by the sync
    this.forFreeze = forFreeze
    const sync = (async () => {
      for (const [i, item] of plan.items.entries()) {
        const ch = await syncChannels[i]
        const before = this.summary.bytes.bundle
        rep.watch(() => before + ch.sent())
        this.summary.bytes.bundle += await ch.send(item.local)
      }
    })()
    sync.catch(() => undefined) // awaited just below, with forFreeze
    await this.guard(Promise.all([sync, forFreeze]))
    rep.end(this.summary.bytes.bundle)

    await agent.request('write-config', {bundleDir: remoteBundle, config: plan.config})
    debug('migrate: config written on the target')
    const heldRestore = holdTargetRestore(rt, agent, {id: o.id, bundleDir: remoteBundle, stdio: plan.stdio,
      externalNetns: remote.makesNetns === true, tmpfsSkeletons: skeletonsFor(remote)})
    ensureKdatCache(rt) // the dump in the freeze then loads CRIU's kernel data instead of probing for it (kdat.ts)
    debug("migrate: CRIU's kernel data cached here")
    const {imagesChannel, deltaChannels, pages, push, dump: preparedDump} = await forFreeze
    // a link that went while the bundle streamed would hold the dump up: refuse before anything is frozen
    if (push && (push.link.destroyed || push.link.readableEnded)) throw new OcirtError('the page link to the target closed before the freeze', {...this.ctx, step: 'sync bundle'})
    const images = path.join(staging, 'images')
    const criuOpts = {tcpEstablished: o.tcpEstablished, extUnixSk: o.extUnixSk, fileLocks: o.fileLocks, manageCgroupsMode: o.manageCgroupsMode}
    let parentPath: string | undefined
    if (mode === 'pre-copy') {
      this.step = 'pre-copy'
      this.preCopy = new PreCopy({rt, id: o.id, localStaging: this.staging, remoteStaging: prep.staging, criuOpts, rep,
        openChannel: (dir) => this.channel(agentArgv, dir, prep.staging), guard: (p) => this.guard(p), rules: o.preCopyRules})
      const rounds = await this.preCopy.run()
      this.summary.preCopy = {rounds: rounds.rounds, stopped: rounds.stopped}
      parentPath = rounds.parentPath
    }

    await preparedDump.settled()
    await heldRestore
    collectGarbage() // not inside the freeze (collect-garbage.ts)
    this.step = 'freeze'
    rep.begin('freeze and dump')
    const frozenAt = Date.now()
    await pause(rt, o.id, 'migrate')
    this.frozen = true
    debug(`migrate ${o.id}: frozen`)
    // an agent that makes the container's new network namespace on the target (loopback up) spares the dump its own
    // and one whose restore rebuilds read-only tmpfs mounts spares it their tar (an older one gets them tar'd)
    this.dump = startDump(rt, o.id, images, {...criuOpts, parentPath, externalNetns: remote.makesNetns === true, tmpfsSkeletons: skeletonsFor(remote)}, pages, push, preparedDump)
    if (this.dump.linkBytes) rep.watch(this.dump.linkBytes)
    // the bundle's changes travel while CRIU dumps: frozen, the container changes nothing more, and CRIU writes
    // nothing in the bundle
    const delta = sendChanges(plan, deltaChannels, agent, syncedAt, before)
    delta.catch(() => undefined) // awaited below; a failure ends the wait for the dump at once
    await this.guard(Promise.race([this.dump.ready, delta.then(() => this.dump!.ready)]))
    rep.end()

    this.step = 'transfer'
    rep.begin('transfer')
    const lazyPages = mode === 'post-copy' && pages ? {id: this.targetId, pageServer: pages.forTarget} : undefined
    const [imageBytes, deltaBytes] = await this.guard(Promise.all([sendImages(agent, () => imagesChannel ?? this.channel(agentArgv, prep.imageDir, prep.staging), images, lazyPages), delta]))
    this.summary.bytes.images = imageBytes
    this.summary.bytes.delta = deltaBytes
    rep.end(this.summary.bytes.images + this.summary.bytes.delta)

    this.step = 'restore'
    rep.begin('restore on the target')
    this.mayRunOnTarget = true // from here on the target may run a copy: the source resumes only once it is gone
    const restoring = agent.request('restore', {
      id: this.targetId, bundleDir: remoteBundle, lazyPages: mode === 'post-copy', pageServer: pages?.forTarget,
      stdio: plan.stdio, tcpEstablished: o.tcpEstablished, extUnixSk: o.extUnixSk, fileLocks: o.fileLocks,
      manageCgroupsMode: o.manageCgroupsMode, consoleSocket: o.consoleSocket,
    })
    // once the request is on its way: the target's lazy-pages daemon connects only after criu restored the process
    if (pages) {
      setImmediate(() => {
        const note = setMigrationCongestion(pages, this.session?.socketFd(), preparedDump.service?.pid, o.pageCongestion)
        if (note) this.summary.notes.push(note)
      })
    }
    const restored = await this.guard(restoring)
    this.summary.downtimeMs = Date.now() - frozenAt
    if (push) {
      this.summary.bytes.pages = restored.pagesReceived ?? 0
      this.summary.notes.push(`pages went from the dump straight to the target's criu page server at ${push.address} over the page link (TLS between the two ocirt processes, mutually authenticated, keys made for this migration)`)
    }
    rep.end(undefined, `pid ${restored.pid} on the target, restore ${restored.restoreMs} ms${mode === 'post-copy' ? ` (lazy-pages daemon ${restored.lazyPagesStartMs} ms${restored.lazyPagesHeld ? ', held since before the freeze' : ''})` : ''}${restored.criuHeld ? '; criu restore held since before the freeze' : ''}`)

    if (mode === 'post-copy') {
      this.step = 'post-copy'
      rep.begin('post-copy', 'the container runs on the target; its pages follow')
      const resumedAt = Date.now()
      const tunnel = pages?.tunnel
      if (tunnel) rep.watch(() => tunnel.bytes().in + tunnel.bytes().out)
      await awaitPostCopy(agent, this.dump.done, (p) => this.guard(p), this.ctx)
      this.summary.postCopyMs = Date.now() - resumedAt
      if (tunnel) this.summary.bytes.pages = tunnel.bytes().out + tunnel.bytes().in
      else this.summary.notes.push("pages went straight from the source's criu to the target's over CRIU's TLS (mutually authenticated, keys made for this migration): their bytes are not counted")
      rep.end(this.summary.bytes.pages)
    }
    const there = await this.guard(agent.request('state', {id: this.targetId}))
    if (there.status !== 'running') throw new OcirtError(`the restored container is ${there.status} on the target`, {...this.ctx, step: 'verify'})

    this.step = 'commit'
    await this.guard(Promise.resolve()) // an interruption that came in just now still rolls back
    this.committing = true
    try {
      await agent.request('commit', {})
    } catch (err) {
      // the target may or may not have kept it: resuming here could run the container twice
      this.summary.outcome = 'unknown'
      throw new Error(`the target did not confirm the commit (${(err as Error).message}): the container stays frozen here; check \`ocirt state ${this.targetId}\` on ${o.target.label}, then \`ocirt resume ${o.id}\` or \`ocirt delete --force ${o.id}\` here`)
    }
    this.summary.outcome = 'migrated'
    this.step = 'remove the source copy'
    rep.begin('remove the source copy')
    this.frozen = false
    try {
      await deleteContainer(rt, o.id, {force: true}, 'migrate')
    } catch (err) {
      throw new Error(`the container runs on the target, but its frozen copy here could not be removed (${bareCause(err as Error)}): run \`ocirt delete --force ${o.id}\` here`)
    }
    rep.end()
  }

  private async channel(agentArgv: string[], dir: string, staging: string): Promise<UnpackChannel> {
    const ch = await openUnpack(this.session!, agentArgv, dir, staging)
    this.channels.push(ch)
    return ch
  }

  private agentArgv(): string[] {
    const root = this.o.remoteRoot ?? this.o.target.remoteRoot
    const debug = this.rt.debug ? ['--debug'] : []
    return [this.o.remoteOcirt ?? this.o.target.remoteOcirt ?? 'ocirt', ...(root ? ['--root', root] : []), ...debug, 'migrate-agent']
  }

  private finish(): MigrationSummary {
    this.summary.totalMs = this.rep.elapsed()
    this.cleanStaging()
    return this.summary
  }

  /** Puts everything back: the target undoes its part, the source resumes. Returns the error to throw. */
  private async fail(err: Error): Promise<Error> {
    const {rep, summary} = this
    rep.end(undefined, 'failed')
    summary.error = err.message
    const cause = bareCause(err)
    const failed = (text: string) => new MigrationFailed(text, summary, {...this.ctx, step: this.step})
    if (!this.agent && !this.frozen) {
      // nothing was made anywhere (no target agent yet): the error as it is
      summary.totalMs = rep.elapsed()
      return failed(cause)
    }
    if (summary.outcome === 'unknown' || summary.outcome === 'migrated') {
      // unknown: leave the source frozen (see commit); migrated: only removing the source copy failed
      this.cleanStaging()
      summary.totalMs = rep.elapsed()
      return failed(cause)
    }
    rep.note(`rolling back: ${cause}`)
    await settleSourceWork({forFreeze: this.forFreeze, preCopy: this.preCopy, dump: this.dump, push: this.push})
    const target = await undoOnTarget(this.agent, cause, summary.notes)
    const problems = [...target.problems]
    const targetClean = !this.mayRunOnTarget || target.clean
    if (this.frozen && !targetClean) {
      // the target may still run its copy: resuming here could run the container twice
      summary.outcome = 'unknown'
      this.cleanStaging()
      summary.totalMs = rep.elapsed()
      return failed(`${cause} (the target could not confirm that its copy is gone: the container stays frozen here; the target's agent removes its copy by itself within ${AGENT_LEASE_MS / 1000} s of losing this host if it is alive; check \`ocirt state ${this.targetId}\` on ${this.o.target.label}, then \`ocirt resume ${this.o.id}\` here)`)
    }
    if (this.frozen) {
      try {
        if (loadContainer(this.rt, this.o.id, 'migrate').status === 'paused') await resume(this.rt, this.o.id, 'migrate')
      } catch (e) {
        problems.push(`source: resume: ${(e as Error).message}`)
      }
    }
    this.cleanStaging()
    if (this.mayRunOnTarget && this.summary.mode === 'post-copy') {
      summary.notes.push('the container had started on the target: what it did there since the freeze is discarded, the source goes on from the freeze')
    }
    summary.outcome = problems.length ? 'failed' : 'rolled-back'
    if (problems.length) summary.notes.push(...problems.map((p) => `not undone: ${p}`))
    summary.totalMs = rep.elapsed()
    const where = summary.outcome === 'rolled-back' ? 'rolled back, the container runs on the source' : `rollback incomplete: ${problems.join('; ')}`
    return failed(`${cause} (${where})`)
  }

  private cleanStaging(): void {
    if (this.staging) fs.rmSync(this.staging, {recursive: true, force: true})
    this.staging = undefined
  }

  private async disconnect(): Promise<void> {
    // interrupted while connecting: a session that comes up afterwards is closed, or its keepalives hold us up
    if (!this.session) void this.connecting?.then((late) => late.close(), () => undefined)
    for (const ch of this.channels) ch.close()
    this.push?.link.destroy()
    await this.pages?.tunnel?.close().catch(() => undefined)
    this.agent?.close()
    await this.session?.close().catch(() => undefined)
  }
}

function ensureDir(dir: string): string {
  fs.mkdirSync(dir, {recursive: true, mode: 0o700})
  return dir
}

/** Which tmpfs skeletons the target's restore rebuilds (checkpoint.ts tmpfsSkeletons): older agents fewer or none. */
function skeletonsFor(remote: HostFacts): SkeletonLevel {
  if (remote.rebuildsTmpfs !== true) return false
  if (remote.rebuildsWritableTmpfs !== true) return 'read-only'
  return remote.rebuildsTmpfsNodes === true ? true : 'writable'
}

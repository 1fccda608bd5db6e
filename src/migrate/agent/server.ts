// `ocirt migrate-agent`: the target's half of a migration, started by the source through the SSH connection and
// spoken to in JSON lines on stdin/stdout (protocol.ts). It makes the target's part (bundle directory, image
// directory, the restored container, CRIU's lazy-pages daemon) and records an undo for each, so that `abort`, or
// the end of the conversation without `commit` (the source died, the connection broke), leaves the target as it was.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Readable, Writable} from 'node:stream'
import {OcirtError} from '../../core/errors'
import type {Runtime} from '../../core/runtime'
import {UndoStack} from '../../core/util/undo'
import {debug} from '../../core/log'
import {ensureKdatCache} from '../../core/criu/kdat'
import {containerDir, validateId, writeFileAtomic} from '../../core/state/store'
import {checkRestoreInput, restore} from '../../core/lifecycle/restore'
import {deleteContainer} from '../../core/lifecycle/delete'
import {state as containerState} from '../../core/lifecycle/query'
import {freeBytes, hostFacts} from './facts'
import {writeImageFiles} from '../image-files'
import {writeTlsFiles} from '../tls'
import {criuDoesTls, pageServerHandshake} from '../tls-probe'
import {stopUnpackers} from './unpack'
import type {LazyPagesInput} from './lazy-pages'
import {LazyDaemon} from './lazy-daemon'
import {startPageSink, type PageSink} from './page-sink'
import {makeNetns} from './netns'
import {holdRestore} from './held-restore'
import {busyCgroup, emptyDir, fmt, isSocket, openStdio, parentsAreDirectories, topMissing} from './files'
import type {HeldCriu} from '../../core/criu/held'
import type {LoadedBundle} from '../../core/spec/load'
import {AGENT_LEASE_MS, readLines, writeLine, type Op, type PrepareRequest, type PrepareResult, type Requests, type RestoreRequest, type RestoreResult} from './protocol'

/**
 * Failures the migration tests inject on the target (they start the agent through a wrapper that sets it):
 * `restore` fails right after CRIU restored the container, `kill-lazy` kills the lazy-pages daemon once the
 * container runs (the target dying during post-copy), `commit-lost` commits and then cuts the connection (kills its
 * sshd) before answering, `probe-tls` answers the TLS probe with a failure (it is made while the bundle streams),
 * `kill-page-server` kills stop-copy's page server as soon as the first pages arrive (the target failing mid-dump).
 * Never set in normal use.
 */
const FAULT = process.env.OCIRT_MIGRATE_FAULT ?? ''

type Handler<K extends Op> = (params: Requests[K]['params']) => Promise<Requests[K]['result']>

export class MigrationAgent {
  private readonly undo = new UndoStack()
  private committed = false
  private staging?: string
  private prepared?: PrepareRequest & PrepareResult
  private readonly lazy: LazyDaemon
  /** the new network namespace the restored container joins (write-config made it) */
  private netnsFd?: number
  /** the bundle as write-config checked it */
  private loaded?: LoadedBundle
  /** the criu restore started before the freeze, waiting at its gate (prepare-restore) */
  private heldRestore?: HeldCriu
  /** the restore request came */
  private restoring = false
  private sink?: PageSink
  abandoned = false

  constructor(private readonly rt: Runtime) {
    this.lazy = new LazyDaemon(rt, this.undo)
  }

  readonly handlers: {[K in Op]: Handler<K>} = {
    hello: async () => {
      debug(`migrate-agent: hello (process up ${Math.round(performance.now())} ms)`)
      return hostFacts(this.rt)
    },
    prepare: (p) => this.prepare(p),
    restore: (p) => this.restore(p),
    'lazy-done': () => this.lazy.done(),
    'prepare-lazy-pages': async (p) => {
      const prep = this.prepared
      if (!prep) throw new OcirtError('prepare-lazy-pages before prepare', {verb: 'migrate-agent', step: 'start lazy-pages'})
      return {held: this.lazy.hold(this.lazyInput(p.id, p.pageServer))}
    },
    'put-images': async (p) => {
      if (!this.prepared) throw new OcirtError('put-images before prepare', {verb: 'migrate-agent', step: 'put images'})
      const bytes = writeImageFiles(this.prepared.imageDir, p.files)
      // post-copy: the daemon needs these images and the source's page server, which serves already; it starts
      // now, while the answer travels back and the restore request comes, instead of inside the restore
      if (p.lazyPages && !this.lazy.started) {
        const {id} = this.prepared
        const pageServer = p.lazyPages.pageServer
        // one held since before the freeze goes at once (~2 ms to ready); a new one is spawned after the answer is
        // written: spawning forks this process, ~5 ms the answer need not wait for
        void this.lazy.start(id, () => this.lazyInput(id, pageServer), new Promise<void>((resolve) => setImmediate(resolve)))
      }
      return {bytes}
    },
    'prepare-restore': async (p) => ({held: this.holdRestore(p)}),
    'remove-paths': async (p) => this.removePaths(p.bundleDir, p.paths),
    'write-config': async (p) => {
      writeFileAtomic(path.join(path.resolve(p.bundleDir), 'config.json'), `${JSON.stringify(p.config, null, 2)}\n`, 0o644)
      // the restore's own checks of the bundle, now: a config it would refuse stops the migration before the freeze
      // (and their code is compiled by the time the restore runs them in the freeze)
      const loaded = this.prepared ? checkRestoreInput(this.rt, this.prepared.id, p.bundleDir, 'migrate-agent') : undefined
      this.loaded = loaded
      // the container's new network namespace, if its config has one, is made here (netns.ts): the source leaves its
      // own out of the dump when the hello said we do this
      const ownNetns = loaded?.spec.linux?.namespaces?.some((n) => n.type === 'network' && !n.path)
      if (ownNetns && this.netnsFd === undefined) {
        const fd = await makeNetns(this.prepared!.id)
        this.netnsFd = fd
        this.undo.push('close the network namespace made for the restore', () => this.closeNetns())
      }
      // the last step before the freeze: the lazy-pages daemon and the restore then load CRIU's kernel data (kdat.ts)
      ensureKdatCache(this.rt)
      return {}
    },
    'probe-tls': async (p) => {
      if (FAULT === 'probe-tls') return {ok: false, detail: 'injected fault in the TLS probe'}
      const own = await criuDoesTls(this.rt, p.pem, p.timeoutMs)
      return own.ok ? pageServerHandshake(p.address, p.port, p.pem, p.timeoutMs) : own
    },
    'start-page-server': async (p) => {
      const prep = this.prepared
      if (!prep) throw new OcirtError('start-page-server before prepare', {verb: 'migrate-agent', step: 'page server'})
      if (this.sink) throw new OcirtError('a page server already runs for this migration', {verb: 'migrate-agent', id: prep.id, step: 'page server'})
      const sink = await startPageSink(this.rt.criu, {staging: prep.staging, imageDir: prep.imageDir, address: p.address, pem: p.pem, id: prep.id, killDuringDump: FAULT === 'kill-page-server'})
      this.sink = sink
      this.undo.push('stop the page server', () => sink.stop())
      return {port: sink.port}
    },
    'stop-page-server': async () => {
      this.sink?.stop()
      this.sink = undefined
      return {}
    },
    state: async (p) => {
      const s = containerState(this.rt, p.id, 'migrate-agent')
      return {status: s.status, pid: s.pid}
    },
    commit: async () => {
      this.committed = true
      this.lazy.dropHeld() // not needed after all (the restore had it start anew)
      this.heldRestore?.stop() // the same
      this.undo.clear()
      if (this.staging) fs.rmSync(this.staging, {recursive: true, force: true})
      if (FAULT === 'commit-lost') process.kill(process.ppid, 'SIGKILL') // the connection drops before the answer
      return {}
    },
    abort: async () => ({notUndone: await this.rollback()}),
  }

  /** Undoes everything not committed; returns what could not be undone. */
  async rollback(): Promise<string[]> {
    if (this.committed) return []
    // a lazy-pages daemon waiting on a dead source would hold up the request in progress, and with it this rollback;
    // one still starting (put-images started it) is waited for, then stopped with the rest
    await this.lazy.settle()
    this.sink?.stop()
    // unpackers still writing would put back what the undo removes
    if (this.staging) await stopUnpackers(this.staging)
    return this.undo.run()
  }

  /** The source is gone (connection ended, lease expired): stop what waits on it, then undo. */
  async abandon(why: string): Promise<void> {
    if (this.committed || this.abandoned) return
    this.abandoned = true
    // stderr is the SSH channel too: when the source is gone, writing fails (EPIPE); the note is best effort
    process.stderr.on('error', () => undefined)
    try {
      process.stderr.write(`ocirt migrate-agent: ${why}: undoing this migration's part on this host\n`)
    } catch {
      // nobody to tell
    }
    this.lazy.stop()
    this.heldRestore?.stop()
    this.sink?.stop()
  }

  private async prepare(p: PrepareRequest): Promise<PrepareResult> {
    const ctx = {verb: 'migrate-agent', id: p.id, step: 'prepare'}
    validateId(p.id, 'migrate-agent')
    if (fs.existsSync(containerDir(this.rt, p.id))) throw new OcirtError(`container ${p.id} already exists on the target (--root ${this.rt.root})`, ctx)
    const bundle = path.resolve(p.bundleDir)
    if (fs.existsSync(path.join(bundle, 'config.json'))) throw new OcirtError(`the target bundle ${bundle} already holds a config.json`, ctx)
    // the rollback removes the bundle directory it made; it cannot tell what it unpacked into one that held files
    if (fs.existsSync(bundle) && fs.readdirSync(bundle).length) throw new OcirtError(`the target bundle directory ${bundle} is not empty`, ctx)
    const lacking = (p.kernelPaths ?? []).filter((k) => !fs.existsSync(k))
    if (lacking.length) {
      throw new OcirtError(`the target's kernel lacks ${lacking.join(', ')}, where the container has mounts (masked or read-only paths): CRIU could not restore them there`, ctx)
    }
    for (const req of p.requiredPaths) {
      if (!fs.existsSync(req)) throw new OcirtError(`${req} (a bind mount's source outside the bundle) does not exist on the target`, ctx)
    }
    if (p.consoleSocket && !isSocket(p.consoleSocket)) throw new OcirtError(`the console socket ${p.consoleSocket} is not a unix socket on the target (start the receiver of the pty master first)`, ctx)
    if (p.cgroupsPath) {
      const busy = busyCgroup(p.cgroupsPath)
      if (busy) throw new OcirtError(`cgroup ${p.cgroupsPath} is in use on the target (${busy} has processes): choose another with --target-cgroups-path`, ctx)
    }
    const freeBundleBytes = freeBytes(bundle)
    if (freeBundleBytes < p.bundleBytes) throw new OcirtError(`not enough room for the bundle on the target: ${fmt(p.bundleBytes)} needed under ${bundle}, ${fmt(freeBundleBytes)} free`, ctx)
    const stagingRoot = path.join(this.rt.root, '.migrate')
    const freeImageBytes = freeBytes(stagingRoot)
    if (freeImageBytes < p.imageBytes) throw new OcirtError(`not enough room for the images on the target: ${fmt(p.imageBytes)} needed under ${stagingRoot}, ${fmt(freeImageBytes)} free`, ctx)

    const made = topMissing(bundle)
    fs.mkdirSync(bundle, {recursive: true, mode: 0o755})
    // an empty directory that was there is emptied again, one that was not is removed
    const undoBundle = made ? () => fs.rmSync(made, {recursive: true, force: true}) : () => emptyDir(bundle)
    this.undo.push(`remove ${made ?? `what was unpacked into ${bundle}`}`, undoBundle)
    fs.mkdirSync(stagingRoot, {recursive: true, mode: 0o700})
    const staging = fs.mkdtempSync(path.join(stagingRoot, `${p.id}.`))
    this.staging = staging
    this.undo.push(`remove ${staging}`, () => fs.rmSync(staging, {recursive: true, force: true}))
    const imageDir = path.join(staging, 'images')
    fs.mkdirSync(imageDir, {mode: 0o700})
    this.prepared = {...p, bundleDir: bundle, staging, imageDir, workDir: imageDir, freeBundleBytes, freeImageBytes}
    return {staging, imageDir, workDir: imageDir, freeBundleBytes, freeImageBytes}
  }

  private closeNetns(): void {
    if (this.netnsFd === undefined) return
    fs.closeSync(this.netnsFd)
    this.netnsFd = undefined
  }

  /** The criu restore, started now and held at its gate (held-restore.ts); false where it cannot be. */
  private holdRestore(p: Requests['prepare-restore']['params']): boolean {
    const prep = this.prepared
    if (!prep || !this.loaded) throw new OcirtError('prepare-restore before write-config', {verb: 'migrate-agent', id: prep?.id, step: 'hold criu restore'})
    // once: a second request, or one after the restore began, gets the one there is (or none)
    if (this.heldRestore || this.restoring || this.committed || this.abandoned) return this.heldRestore?.live === true
    let stdio: number[] = []
    try {
      if (fs.realpathSync(p.bundleDir) !== this.loaded.bundle) return false
      const fds = openStdio(p.stdio, p.bundleDir)
      stdio = fds
      const held = holdRestore(this.rt, {id: prep.id, loaded: this.loaded, stdio: fds, netnsFd: this.netnsFd, layout: p.layout, dir: prep.staging})
      if (!held) return false
      this.heldRestore = held
      this.undo.push('stop the criu restore held at its gate', () => held.stop())
      return true
    } catch (err) {
      // a start ahead of time that fails costs only the time it would have saved: the restore spawns criu
      debug(`migrate-agent ${prep.id}: no criu restore ahead of time: ${(err as Error).message}`)
      return false
    } finally {
      for (const fd of new Set(stdio)) fs.closeSync(fd)
    }
  }

  /** what the lazy-pages daemon runs with; its keys are written in the staging dir (0700, removed with it) */
  private lazyInput(id: string, pageServer: NonNullable<RestoreRequest['pageServer']>): LazyPagesInput {
    const prep = this.prepared!
    const tls = pageServer.tls ? writeTlsFiles(prep.workDir, 'tls-client', pageServer.tls) : undefined
    return {imageDir: prep.imageDir, workDir: prep.workDir, address: pageServer.address, port: pageServer.port, tls, id}
  }

  private async restore(p: RestoreRequest): Promise<RestoreResult> {
    const prep = this.prepared
    if (!prep) throw new OcirtError('restore before prepare', {verb: 'migrate-agent', id: p.id})
    this.restoring = true
    const started = Date.now()
    debug(`migrate-agent ${p.id}: restore asked`)
    // stop-copy with the page server: the dump has ended (the restore is asked after it), so its page server has
    // written the last page and ends within moments; a page server that failed fails the restore before it starts
    const pagesReceived = this.sink ? await this.sink.finished(30_000) : undefined
    if (pagesReceived !== undefined) debug(`migrate-agent ${p.id}: the page server took ${pagesReceived} bytes of pages`)
    const fds = openStdio(p.stdio, p.bundleDir)
    let lazyMs = 0
    // the lazy-pages daemon started with the images (put-images), or starts now, while the restore makes the cgroup
    // and mounts; criu restore waits for it
    let daemonUp: Promise<void> | undefined
    if (p.lazyPages) {
      if (!p.pageServer) throw new OcirtError('lazy restore without a page server', {verb: 'migrate-agent', id: p.id})
      const pageServer = p.pageServer
      daemonUp = this.lazy.start(p.id, () => this.lazyInput(p.id, pageServer)).then(() => {
        lazyMs = Date.now() - started
        debug(`migrate-agent ${p.id}: lazy-pages daemon up ${lazyMs} ms after the restore was asked`)
      })
      daemonUp.catch(() => undefined) // awaited before criu restore runs
    }
    try {
      await restore(this.rt, {
        id: p.id, bundle: p.bundleDir, imagePath: prep.imageDir, workPath: prep.workDir, detach: true,
        lazyPages: p.lazyPages, tcpEstablished: p.tcpEstablished, extUnixSk: p.extUnixSk, fileLocks: p.fileLocks,
        manageCgroupsMode: p.manageCgroupsMode, inheritStdio: fds, beforeCriu: () => daemonUp, consoleSocket: p.consoleSocket,
        netnsFd: this.netnsFd, heldCriu: this.heldRestore,
        // a new, empty network namespace (or the engine's, joined by path) has nothing of the container's to hold
        // still, established TCP connections aside
        networkLock: p.tcpEstablished ? undefined : 'skip',
      }, 'migrate-agent')
    } finally {
      this.heldRestore?.stop() // one not let go (the restore spawned criu, or failed before it) is not needed
      for (const fd of new Set(fds)) fs.closeSync(fd)
      await daemonUp?.catch(() => undefined) // a daemon that came up late is still ours to stop
    }
    this.closeNetns() // the restored container is in it now
    // pushed only now: a failed restore undid itself, and the id could belong to someone else's container
    this.undo.push(`delete container ${p.id}`, () => deleteContainer(this.rt, p.id, {force: true}, 'migrate-agent'))
    if (FAULT === 'restore') throw new OcirtError('injected fault after restore (OCIRT_MIGRATE_FAULT=restore)', {verb: 'migrate-agent', id: p.id})
    if (FAULT === 'kill-lazy') this.lazy.stop()
    const s = containerState(this.rt, p.id, 'migrate-agent')
    return {pid: s.pid, status: s.status, restoreMs: Date.now() - started, lazyPagesStartMs: lazyMs, lazyPagesHeld: this.lazy.wasHeld, criuHeld: this.heldRestore?.ran === true, pagesReceived}
  }

  private async removePaths(bundleDir: string, paths: string[]): Promise<{removed: number}> {
    const base = path.resolve(bundleDir)
    let removed = 0
    for (const rel of paths) {
      const abs = path.resolve(base, rel)
      if (!abs.startsWith(`${base}/`)) throw new OcirtError(`refusing to remove ${rel}: outside the bundle`, {verb: 'migrate-agent', step: 'remove paths'})
      // a parent that is a symlink (the container swapped a directory for one) would lead the removal off the bundle
      if (!parentsAreDirectories(base, abs)) continue
      fs.rmSync(abs, {recursive: true, force: true})
      removed++
    }
    return {removed}
  }
}

/** Serves one conversation; resolves when it ends (after rolling back if it ended without commit). */
export function serveAgent(rt: Runtime, input: Readable, output: Writable): Promise<void> {
  const agent = new MigrationAgent(rt)
  let queue = Promise.resolve()
  let lastHeard = Date.now()
  return new Promise((resolve) => {
    let ended = false
    const end = (why: string) => {
      if (ended) return
      ended = true
      clearInterval(lease)
      void agent.abandon(why)
      const done = () => {
        input.destroy() // a silent source may still hold the pipe open: stop reading so the process can exit
        resolve()
      }
      void queue.then(() => agent.rollback()).then(done, done)
    }
    // a source that has not been heard of for the lease is gone, even if sshd has not noticed (protocol.ts)
    const lease = setInterval(() => {
      if (Date.now() - lastHeard > AGENT_LEASE_MS) end(`nothing from the source for ${AGENT_LEASE_MS / 1000} s`)
    }, 1000)
    // the source gone mid-answer (connection cut): writing fails with EPIPE; that ends the conversation, never the agent
    output.on('error', () => end('the source is gone (writing to it failed)'))
    readLines(input, (msg) => {
      lastHeard = Date.now()
      if ((msg as {op?: string})?.op === 'ping') return
      queue = queue.then(() => answer(agent, msg as {id: number; op: Op; params: unknown}, output))
    }, () => end('the conversation ended'))
  })
}

async function answer(agent: MigrationAgent, msg: {id: number; op: Op; params: unknown}, output: Writable): Promise<void> {
  const handler = agent.handlers[msg.op] as ((p: unknown) => Promise<unknown>) | undefined
  if (typeof msg?.id !== 'number' || !handler) {
    writeLine(output, {id: msg?.id ?? -1, ok: false, error: `unknown request ${JSON.stringify(msg).slice(0, 200)}`})
    return
  }
  try {
    writeLine(output, {id: msg.id, ok: true, result: await handler(msg.params ?? {})})
  } catch (err) {
    writeLine(output, {id: msg.id, ok: false, error: (err as Error).message})
  }
}

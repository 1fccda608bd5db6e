// The conversation between `ocirt migrate` (the source) and `ocirt migrate-agent` (started on the target through
// the SSH connection): one JSON object per line each way. The source asks, the agent answers every request with
// {id, ok, result} or {id, ok: false, error}. The agent undoes everything it made unless the source said `commit`
// before the conversation ended, so a lost connection can never leave a half-made container on the target.
import type {Readable, Writable} from 'node:stream'
import type {HostFacts} from './facts'
import type {TlsPem} from '../tls'
import type {ImageFile} from '../image-files'
import type {RestoreLayout} from '../../core/lifecycle/checkpoint'

export interface PrepareRequest {
  /** the container id on the target */
  id: string
  /** where the bundle goes on the target (made if missing; refused if it holds a config.json) */
  bundleDir: string
  /** a linux.cgroupsPath the target must be able to use (refused if that cgroup holds processes) */
  cgroupsPath?: string
  /** bytes the target must have free under bundleDir and under the image directory */
  bundleBytes: number
  imageBytes: number
  /** absolute paths that must exist on the target (bind-mount sources outside the bundle) */
  requiredPaths: string[]
  /** the container's mount points in /proc and /sys: the target's kernel must have them too (CRIU remounts them) */
  kernelPaths?: string[]
  /** a container with a terminal: the unix socket that will take its new pty master must be listening */
  consoleSocket?: string
}

export interface PrepareResult {
  /** the migration's own directory on the target (images, work files, unpacker registrations) */
  staging: string
  imageDir: string
  workDir: string
  freeBundleBytes: number
  freeImageBytes: number
}

export interface RestoreRequest {
  id: string
  bundleDir: string
  lazyPages: boolean
  /** with lazyPages: where the agent's lazy-pages daemon finds the source's page server: a tunnel end on the
   * target (127.0.0.1:port), or the source itself with TLS */
  pageServer?: {address: string; port: number; tls?: TlsPem}
  /** files (relative to the bundle, or absolute) the restored container gets as fds 0, 1, 2; '' = /dev/null */
  stdio: [string, string, string]
  tcpEstablished?: boolean
  extUnixSk?: boolean
  fileLocks?: boolean
  manageCgroupsMode?: string
  /** a container with a terminal: the unix socket on the target that takes the new pty's master (runc's protocol) */
  consoleSocket?: string
}

export interface RestoreResult {
  pid: number
  status: string
  /** ms the restore took on the target, CRIU included */
  restoreMs: number
  /** of which starting CRIU's lazy-pages daemon took */
  lazyPagesStartMs: number
  /** the lazy-pages daemon was the one held at its gate since before the freeze (prepare-lazy-pages) */
  lazyPagesHeld?: boolean
  /** criu restore was the one held at its gate since before the freeze (prepare-restore) */
  criuHeld?: boolean
  /** stop-copy with the page server: bytes of the pages it wrote (the restore waited for it to end) */
  pagesReceived?: number
}

/** Everything the source may ask, with what each answers. */
export interface Requests {
  hello: {params: Record<string, never>; result: HostFacts}
  prepare: {params: PrepareRequest; result: PrepareResult}
  restore: {params: RestoreRequest; result: RestoreResult}
  /** resolves when the lazy-pages daemon has every page (or failed) */
  'lazy-done': {params: Record<string, never>; result: {ok: boolean; detail: string}}
  /** the images of a post-copy dump, small and flat, written into the prepared image directory (image-files.ts);
   * with lazyPages, the lazy-pages daemon the restore will need starts right after (an older agent ignores it) */
  'put-images': {params: {files: ImageFile[]; lazyPages?: {id: string; pageServer: NonNullable<RestoreRequest['pageServer']>}}; result: {bytes: number}}
  /** post-copy, before the freeze: the lazy-pages daemon starts now and waits, loaded, before criu's main() for
   * put-images to let it go (lazy-pages.ts holdLazyPages); `held` is false where it cannot (no gate library here),
   * and put-images starts it as before. An older agent answers "unknown request" */
  'prepare-lazy-pages': {params: {id: string; pageServer: NonNullable<RestoreRequest['pageServer']>}; result: {held: boolean}}
  /** before the freeze, after write-config: criu restore starts now for the layout the source expects its dump to
   * have, and waits at its gate for the restore (held-restore.ts); `held` is false where it cannot. An older agent
   * answers "unknown request", and the restore spawns criu as before */
  'prepare-restore': {params: {id: string; bundleDir: string; stdio: RestoreRequest['stdio']; layout: RestoreLayout}; result: {held: boolean}}
  /** removes files deleted on the source since the first bundle sync (paths relative to bundleDir) */
  'remove-paths': {params: {bundleDir: string; paths: string[]}; result: {removed: number}}
  /** writes the config the container runs with on the target (paths and cgroup rewritten by the source) */
  'write-config': {params: {bundleDir: string; config: unknown}; result: Record<string, never>}
  /** before the freeze: can this host's lazy-pages daemon reach the source's TLS page server at address:port */
  'probe-tls': {params: {address: string; port: number; timeoutMs: number; pem: TlsPem}; result: {ok: boolean; detail: string}}
  /** stop-copy: a criu page server here that takes the dump's pages into the image directory, reached through the
   * page link (page-link.ts) for which this agent listens on `address` with these keys */
  'start-page-server': {params: {address: string; pem: TlsPem}; result: {port: number}}
  /** the source will not use the page server after all (its link failed): stop it */
  'stop-page-server': {params: Record<string, never>; result: Record<string, never>}
  state: {params: {id: string}; result: {status: string; pid: number}}
  /** the migration succeeded: keep what was made */
  commit: {params: Record<string, never>; result: Record<string, never>}
  /** undo everything made so far */
  abort: {params: {reason: string}; result: {notUndone: string[]}}
}
export type Op = keyof Requests

/**
 * The source says `{"op":"ping"}` (no id, no answer) every AGENT_PING_MS. An agent that has heard nothing for
 * AGENT_LEASE_MS before the commit undoes everything by itself: a target cut off from its source (a network
 * partition, where sshd may not notice for hours) never keeps a copy running, and a source that lost its agent
 * knows that after the lease the target's copy is gone if the target is alive at all.
 */
export const AGENT_PING_MS = 2_000
export const AGENT_LEASE_MS = 10_000

export interface RequestMessage {
  id: number
  op: Op
  params: unknown
}
export type ResponseMessage = {id: number; ok: true; result: unknown} | {id: number; ok: false; error: string}

/** Splits a byte stream into JSON lines; calls onMessage for each, onEnd once at EOF. */
export function readLines(input: Readable, onMessage: (msg: unknown) => void, onEnd: () => void): void {
  let buf = ''
  input.setEncoding('utf8')
  input.on('data', (chunk: string) => {
    buf += chunk
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).trim()
      buf = buf.slice(nl + 1)
      if (!line) continue
      let msg: unknown
      try {
        msg = JSON.parse(line)
      } catch {
        msg = {malformed: line.slice(0, 200)}
      }
      onMessage(msg)
    }
  })
  input.once('end', onEnd)
  input.once('close', onEnd)
  input.once('error', onEnd)
}

export function writeLine(out: Writable, msg: unknown): void {
  out.write(`${JSON.stringify(msg)}\n`)
}

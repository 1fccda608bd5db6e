// Moving trees to the target: a tar stream (tar-fs) packed here goes straight into an SSH exec channel whose remote
// end is `ocirt migrate-agent --unpack DIR`. Channels are opened before the freeze, so the freeze pays for bytes
// only, never for a remote process start or a handshake.
import type {SshSession} from './ssh'
import {packTree} from './stream'
import {debug} from '../core/log'

export interface UnpackChannel {
  /** sends the tree (or only what changed since `changedSince`, ms since the epoch); resolves with the bytes sent */
  send(localDir: string, opts?: {changedSince?: number; ignore?: (relPath: string) => boolean}): Promise<number>
  /** bytes sent so far by the running send() */
  sent(): number
  /** gives up an unused channel */
  close(): void
}

/** `staging`: the migration's staging directory on the target (PrepareResult.staging), where the unpacker registers. */
export async function openUnpack(session: SshSession, agentArgv: string[], remoteDir: string, staging: string): Promise<UnpackChannel> {
  const proc = await session.exec([...agentArgv, '--unpack', remoteDir, '--session', staging])
  debug(`migrate: unpacker of ${remoteDir} started`)
  proc.exit.catch(() => undefined) // a channel never used may see the connection end; send() reports its own
  let tar: ReturnType<typeof packTree> | undefined
  let stdout = ''
  let stderr = ''
  // the unpacker prints one JSON line once every file is in place: that is the answer, not its exit, which comes
  // later (Node's teardown, then sshd's exit-status) and would add ~40 ms to a freeze that waits on it
  let answered!: (line: string) => void
  const answer = new Promise<string>((resolve) => (answered = resolve))
  proc.stdout.on('data', (b: Buffer) => {
    stdout += b.toString()
    const nl = stdout.indexOf('\n')
    if (nl >= 0) answered(stdout.slice(0, nl))
  })
  proc.stderr.on('data', (b: Buffer) => {
    stderr += b.toString()
    // with --debug the unpacker's own debug lines (agentArgv passes --debug on) show with the agent's
    if (agentArgv.includes('--debug')) process.stderr.write(b.toString().replace(/^ocirt: debug:/gm, 'target: debug:'))
  })
  const tail = () => stderr.trim().split('\n').slice(-3).join(' | ')
  return {
    async send(localDir, opts = {}) {
      const pack = packTree(localDir, {changedSince: opts.changedSince, ignore: opts.ignore})
      tar = pack
      const piped = new Promise<void>((resolve, reject) => {
        pack.once('error', reject)
        ;(proc.stdin as NodeJS.WritableStream).once('error', reject)
        ;(pack as NodeJS.ReadableStream).pipe(proc.stdin as NodeJS.WritableStream).once('finish', () => resolve())
      })
      // a channel that dies mid-stream (connection lost, unpacker killed) never says 'finish': its exit does
      await Promise.race([piped.then(() => debug(`migrate: stream into ${remoteDir} sent (${pack.bytes()} bytes)`)), proc.exit.then((e) => {
        throw new Error(`the unpacker of ${remoteDir} on the target ended before the stream did (${e.code ?? e.signal}): ${tail()}`)
      })])
      const line = await Promise.race([answer, proc.exit.then((e) => {
        // exited without its answer line: failed (or killed); a clean exit that said nothing is no answer either
        if (e.code !== 0) throw new Error(`unpacking into ${remoteDir} on the target failed (${e.code ?? e.signal}): ${tail()}`)
        return stdout
      })])
      try {
        JSON.parse(line)
      } catch {
        throw new Error(`unpacking into ${remoteDir} on the target said nothing sensible: ${line.slice(0, 200)}`)
      }
      debug(`migrate: unpacker of ${remoteDir} answered`)
      return pack.bytes()
    },
    sent: () => tar?.bytes() ?? 0,
    close() {
      proc.kill()
    },
  }
}

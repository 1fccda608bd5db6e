// Moving trees to the target: a tar stream (tar-fs) packed here goes straight into an SSH exec channel whose remote
// end is `ocirt migrate-agent --unpack DIR`. Channels are opened before the freeze, so the freeze pays for bytes
// only, never for a remote process start or a handshake.
import type {SshSession} from './ssh'
import {packTree} from './stream'

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
  proc.exit.catch(() => undefined) // a channel never used may see the connection end; send() reports its own
  let tar: ReturnType<typeof packTree> | undefined
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
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
      await Promise.race([piped, proc.exit.then((e) => {
        throw new Error(`the unpacker of ${remoteDir} on the target ended before the stream did (${e.code ?? e.signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`)
      })])
      const exit = await proc.exit
      if (exit.code !== 0) throw new Error(`unpacking into ${remoteDir} on the target failed (${exit.code ?? exit.signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`)
      try {
        JSON.parse(stdout)
      } catch {
        throw new Error(`unpacking into ${remoteDir} on the target said nothing sensible: ${stdout.slice(0, 200)}`)
      }
      return pack.bytes()
    },
    sent: () => tar?.bytes() ?? 0,
    close() {
      proc.kill()
    },
  }
}

// The network namespace a migrated container joins on the target: new, with its loopback up, as create gives a
// container a new one (the source's own is not dumped, checkpoint externalNetns). Made before the freeze while
// the bundle streams: `unshare --net` runs a shell that says when it is in the new namespace, this process opens the
// namespace and brings `lo` up through netlink there (net/socket.ts), then the shell goes; the fd keeps the
// namespace alive until the restore has joined it.
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import {OcirtError} from '../../core/errors'
import {RtnlSocket} from '../../core/net/socket'
import {setUpRequest} from '../../core/net/rtnl'

/** An fd of a new network namespace whose loopback is up; the caller closes it. */
export async function makeNetns(id: string): Promise<number> {
  const ctx = {verb: 'migrate-agent', id, step: 'network namespace'}
  const child = spawn('unshare', ['--net', '--', '/bin/sh', '-c', 'echo in; exec cat'], {stdio: ['pipe', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', (err) => reject(new OcirtError(`unshare --net: ${err.message}`, ctx)))
      child.once('exit', (code) => reject(new OcirtError(`unshare --net exited with status ${code}: ${stderr.trim()}`, ctx)))
      child.stdout.once('data', () => resolve())
    })
    const fd = fs.openSync(`/proc/${child.pid}/ns/net`, 'r')
    try {
      const sock = RtnlSocket.open(`/proc/self/fd/${fd}`)
      try {
        // the loopback is always the first interface of a new namespace
        const errno = sock.request(setUpRequest(sock.nextSeq(), 1))
        if (errno) throw new Error(`errno ${errno}`)
      } finally {
        sock.close()
      }
      return fd
    } catch (err) {
      fs.closeSync(fd)
      throw new OcirtError(`bringing lo up in the new network namespace: ${(err as Error).message}`, ctx)
    }
  } finally {
    child.stdin.end() // cat ends, the shell with it; the namespace lives on through the fd
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}

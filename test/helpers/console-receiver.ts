// A receiver for runc's console-socket protocol, as runc's recvtty is: it listens on a unix socket, takes the pty
// master that the runtime sends (one message, the slave's path as data, the master as SCM_RIGHTS) and prints what the
// container writes to its terminal as it comes, then "eof" once the slave is closed everywhere (EIO).
// Node cannot receive SCM_RIGHTS: python3's socket.recv_fds does.
import {spawn} from 'node:child_process'
import type {Cleanup} from './cleanup'
import {waitFor} from './containers'

const RECV_CONSOLE = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
print("name=%s fds=%d" % (msg.decode(), len(fds)), flush=True)
while True:
    try:
        chunk = os.read(fds[0], 4096)
    except OSError:
        break
    if not chunk:
        break
    sys.stdout.write(chunk.decode()); sys.stdout.flush()
print("eof", flush=True)
`

export interface ConsoleReceiver {
  path: string
  /** everything the receiver printed */
  text(): string
  exited: Promise<number | null>
}

/** Starts a receiver listening at sockPath (ended by the cleanup) and waits until it listens. */
export async function consoleReceiver(cleanup: Cleanup, sockPath: string): Promise<ConsoleReceiver> {
  const py = spawn('python3', ['-c', RECV_CONSOLE, sockPath], {stdio: ['ignore', 'pipe', 'pipe']})
  cleanup.pid(py)
  let got = ''
  py.stdout!.on('data', (d: Buffer) => (got += d.toString()))
  py.stderr!.on('data', (d: Buffer) => (got += d.toString()))
  const exited = new Promise<number | null>((resolve) => py.once('exit', (code) => resolve(code)))
  await waitFor(`console receiver at ${sockPath} listening`, () => got.includes('listening\n'))
  return {path: sockPath, text: () => got, exited}
}

/** The counts a `probe counter -` printed on a terminal. */
export const ttyCounts = (text: string) => [...text.matchAll(/count=(\d+)\r\n/g)].map((m) => Number(m[1]))

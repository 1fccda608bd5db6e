// CRIU's action scripts, used by restore to run the container's hooks at the moment runc runs them: CRIU calls
// the script given with --action-script for every step of a restore, with the step in CRTOOLS_SCRIPT_ACTION and
// the restored init's host pid in CRTOOLS_INIT_PID, and waits for it; a non-zero exit aborts the restore. runc
// gets the same notifications over its RPC socket; on the command line a script is the only way.
//
// The script is a few lines of sh in the container's state directory. At "setup-namespaces" (the tree and its
// namespaces exist, nothing runs yet) it writes "setup-namespaces <pid>" into a fifo ocirt reads, then waits for
// "ok" or "fail" on a second fifo. ocirt holds both fifos open read-write, so neither side ever blocks on open
// and nothing is lost when one side is slower.
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import {check, loadLibc} from '../sys/libc'

export const SETUP_NAMESPACES = 'setup-namespaces'

export interface ActionListener {
  /** the path for --action-script */
  script: string
  /** the error of the handler that failed (the script then made CRIU fail: this is the reason to report) */
  failure(): Error | undefined
  /** stops listening and removes the script and the fifos */
  close(): void
}

/** Writes the script and its fifos into `dir` and calls `onSetupNamespaces` when CRIU reaches that step. */
export function listenForActions(dir: string, onSetupNamespaces: (initPid: number) => Promise<void>): ActionListener {
  const request = path.join(dir, 'criu-action.req')
  const answer = path.join(dir, 'criu-action.ack')
  const script = path.join(dir, 'criu-action.sh')
  for (const p of [request, answer]) mkfifo(p)
  fs.writeFileSync(script, actionScript(request, answer), {mode: 0o700})
  const reqFd = fs.openSync(request, fs.constants.O_RDWR | fs.constants.O_NONBLOCK)
  const ackFd = fs.openSync(answer, fs.constants.O_RDWR | fs.constants.O_NONBLOCK)
  // a fifo in a net.Socket is read by libuv without a thread of its own (fs streams would block one)
  const reader = new net.Socket({fd: reqFd, readable: true, writable: false})
  let failed: Error | undefined
  let closed = false
  let pending = ''
  reader.on('data', (chunk: Buffer) => {
    pending += chunk.toString()
    let nl: number
    while ((nl = pending.indexOf('\n')) >= 0) {
      const [action, pid] = pending.slice(0, nl).split(' ')
      pending = pending.slice(nl + 1)
      const run = action === SETUP_NAMESPACES ? onSetupNamespaces(Number(pid)) : Promise.resolve()
      run.then(
        () => fs.writeSync(ackFd, 'ok\n'),
        (err: Error) => {
          failed ??= err
          fs.writeSync(ackFd, 'fail\n')
        },
      )
    }
  })
  reader.on('error', () => undefined)
  return {
    script,
    failure: () => failed,
    close() {
      if (closed) return
      closed = true
      reader.destroy()
      fs.closeSync(ackFd)
      for (const p of [request, answer, script]) fs.rmSync(p, {force: true})
    },
  }
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** The script CRIU runs; only setup-namespaces concerns ocirt, every other action passes. */
export function actionScript(request: string, answer: string): string {
  return `#!/bin/sh
# written by ocirt restore for criu --action-script
[ "$CRTOOLS_SCRIPT_ACTION" = ${SETUP_NAMESPACES} ] || exit 0
echo "$CRTOOLS_SCRIPT_ACTION $CRTOOLS_INIT_PID" > ${shQuote(request)} || exit 1
read -r answer < ${shQuote(answer)} || exit 1
[ "$answer" = ok ]
`
}

let mkfifoFn: ((p: string, mode: number) => number) | undefined

function mkfifo(p: string): void {
  if (!mkfifoFn) {
    mkfifoFn = loadLibc().lib.func('int mkfifo(const char *path, uint32 mode)') as (p: string, mode: number) => number
  }
  check(mkfifoFn(p, 0o600), `mkfifo ${p}`)
}

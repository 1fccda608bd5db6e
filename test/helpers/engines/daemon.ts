// Daemons a test starts (containerd, dockerd) and stops by pid, and the engine helpers (conmon, podman's
// cleanup, containerd shims) that outlive the engine's commands, found by the test's private directory on
// their command line and killed by pid.
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import {sleep} from '../containers'

/** A daemon the test started: its process and the log its stdout and stderr go to. */
export interface Daemon {
  name: string
  child: ChildProcess
  log: string
}

/** Start BIN ARGS as a daemon logging to LOG; stopDaemon() ends it. */
export function startDaemon(name: string, bin: string, args: string[], log: string, env?: NodeJS.ProcessEnv): Daemon {
  const fd = fs.openSync(log, 'a', 0o600)
  try {
    const child = spawn(bin, args, {stdio: ['ignore', fd, fd], env: env ?? process.env})
    child.on('error', () => {})
    return {name, child, log}
  } finally {
    fs.closeSync(fd)
  }
}

export function logTail(d: Daemon, lines = 30): string {
  try {
    return fs.readFileSync(d.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** Wait until READY resolves true, failing early (with the log's tail) when the daemon exits. */
export async function waitReady(d: Daemon, ready: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new Error(`${d.name} exited (${d.child.exitCode ?? d.child.signalCode}) while starting:\n${logTail(d)}`)
    }
    if (await ready()) return
    if (Date.now() > deadline) throw new Error(`${d.name} not ready after ${ms} ms:\n${logTail(d)}`)
    await sleep(200)
  }
}

/** SIGTERM the daemon (by its pid), SIGKILL it after MS, and wait for it to be gone. */
export async function stopDaemon(d: Daemon, ms = 20_000): Promise<void> {
  const c = d.child
  if (c.exitCode !== null || c.signalCode !== null) return
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
  c.kill('SIGTERM')
  const timer = setTimeout(() => c.kill('SIGKILL'), ms)
  await exited
  clearTimeout(timer)
}

/** Pids of processes (other than this one) with an argument that contains NEEDLE, e.g. a private directory. */
export function pidsMentioning(needle: string): number[] {
  const found: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (args.some((a) => a.includes(needle))) found.push(Number(entry))
    } catch {}
  }
  return found
}

/**
 * The engine's helpers that outlive its commands (conmon, `podman container cleanup`, containerd shims) name
 * the test's private directory on their command line: give them MS to finish, then SIGKILL each by its pid.
 */
export async function reapMentioning(needle: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (pidsMentioning(needle).length > 0 && Date.now() < deadline) await sleep(100)
  for (const pid of pidsMentioning(needle)) {
    process.stderr.write(`engine cleanup: pid ${pid} (${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()}) still running; SIGKILL\n`)
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
}

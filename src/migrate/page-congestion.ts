// Post-copy's pages come from the dump's page server as answers to the lazy-pages daemon's requests, one at a time,
// and the daemon fills each answer into the container's memory before it asks again: the connection goes idle for a
// few ms, hundreds of times a second. After such gaps, a sender with BBR congestion control (this machine's default,
// and a common one) stalls with the rest of the answer queued, 50-90 ms each time, on paths whose round trip is in
// microseconds; Linux's default, cubic, sends at once (docs/migrate.md, "Post-copy's pages and TCP congestion
// control"). So the page server's listening socket gets the algorithm asked for (cubic unless told otherwise) before
// the target connects: the connection it accepts inherits it (one accepted already gets it too). Only this
// connection, and the SSH connection when the pages go through its tunnel: the host's default stays as it is for
// everything else.
import * as fs from 'node:fs'
import {debug} from '../core/log'
import {getFdOf, ownChildren} from '../core/sys/proc'
import {setTcpCongestion, socketFdsOf, tcpLocalPort} from '../core/sys/tcp-congestion'
import type {PageServerPlan} from './page-server'

/** --page-congestion's default */
export const DEFAULT_PAGE_CONGESTION = 'cubic'

/** --page-congestion's value that leaves the connection to the host's default */
export const HOST_DEFAULT = 'system'

/**
 * Post-copy, once the restore is asked: the page server's connection gets `algorithm` (--page-congestion), and so
 * does the SSH connection (`sshFd`) when the pages go through its tunnel, criu's own connection then being the
 * loopback hop to ssh2. Returns the summary's note: which connection used what, or why it kept the host's default.
 */
export function setMigrationCongestion(pages: PageServerPlan, sshFd: number | undefined, criuPid: number | undefined, algorithm = DEFAULT_PAGE_CONGESTION): string | undefined {
  if (algorithm === HOST_DEFAULT) return undefined
  const started = performance.now()
  const r = setPageServerCongestion(criuPid, Number(pages.listen.slice(pages.listen.lastIndexOf(':') + 1)), algorithm)
  let sshProblem: string | undefined
  if (pages.tunnel) sshProblem = sshFd === undefined ? 'the SSH connection has no descriptor' : setOwnCongestion(sshFd, algorithm)
  debug(`migrate: page server's congestion control: ${r.detail}${pages.tunnel ? `; SSH connection: ${sshProblem ?? algorithm}` : ''} (${(performance.now() - started).toFixed(1)} ms)`)
  const connection = pages.tunnel ? 'the SSH connection that carried the pages' : "the page server's connection"
  if (r.set && sshProblem === undefined) return `${connection} used ${algorithm} congestion control (this host's default: ${hostCongestion()})`
  return `${connection} kept this host's congestion control (${hostCongestion()}): ${[r.set ? undefined : r.detail, sshProblem].filter(Boolean).join('; ')}`
}

/**
 * Sets `algorithm` on the TCP sockets on local `port` (listening or accepted) of this process's children that share
 * its network namespace: the criu that serves the pages (the `criu swrk` that ran the dump, or the criu spawned for
 * it), tried first when `criuPid` is given. Returns what was done, or why nothing was: never throws, the migration
 * goes on with the host's default.
 */
export function setPageServerCongestion(criuPid: number | undefined, port: number, algorithm: string): {set: boolean; detail: string} {
  const problems: string[] = []
  let ownNet: string
  try {
    ownNet = fs.readlinkSync('/proc/self/ns/net')
  } catch (err) {
    return {set: false, detail: (err as Error).message}
  }
  // only children: a pid that is no longer the swrk's cannot be someone else's process
  const children = ownChildren()
  const candidates = criuPid !== undefined && children.includes(criuPid) ? [criuPid, ...children.filter((p) => p !== criuPid)] : children
  for (const pid of candidates) {
    let set = 0
    try {
      if (fs.readlinkSync(`/proc/${pid}/ns/net`) !== ownNet) continue
      for (const fd of socketFdsOf(pid)) {
        try {
          const own = getFdOf(pid, fd)
          try {
            if (tcpLocalPort(own) !== port) continue
            setTcpCongestion(own, algorithm)
            set++
          } finally {
            fs.closeSync(own)
          }
        } catch (err) {
          problems.push(`pid ${pid} fd ${fd}: ${(err as Error).message}`)
        }
      }
    } catch {
      continue // gone
    }
    if (set > 0) return {set: true, detail: `${algorithm} on criu ${pid}'s page server (port ${port}, ${set} socket${set > 1 ? 's' : ''})${problems.length ? `; not on: ${problems.join('; ')}` : ''}`}
  }
  return {set: false, detail: problems.length ? problems.join('; ') : `no process of this migration listens on port ${port}`}
}

/** Sets `algorithm` on one of this process's own TCP sockets; what went wrong, or undefined. */
function setOwnCongestion(fd: number, algorithm: string): string | undefined {
  try {
    setTcpCongestion(fd, algorithm)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

/** this host's default congestion control, for the summary */
export function hostCongestion(): string {
  try {
    return fs.readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim()
  } catch {
    return 'unknown'
  }
}

// Post-copy's pages come from the dump's page server as answers to the lazy-pages daemon's requests, one at a time,
// and the daemon fills each answer into the container's memory before it asks again: the connection goes idle for a
// few ms, hundreds of times a second. After such gaps, a sender with BBR congestion control (this machine's default,
// and a common one) stalls with the rest of the answer queued, 50-90 ms each time, on paths whose round trip is in
// microseconds; Linux's default, cubic, sends at once (docs/migrate.md, "Post-copy's pages"). So the page server's
// listening socket gets the algorithm asked for (cubic unless told otherwise) before the target connects: the
// connection it accepts inherits it (one accepted already gets it too). Only this connection: the host's default stays as it is for everything else.
import * as fs from 'node:fs'
import {getFdOf, ownChildren} from '../core/sys/proc'
import {fdsOfSockets, localPortInodes, setTcpCongestion} from '../core/sys/tcp-congestion'

/** --page-congestion's default */
export const DEFAULT_PAGE_CONGESTION = 'cubic'

/** --page-congestion's value that leaves the connection to the host's default */
export const HOST_DEFAULT = 'system'

/**
 * Sets `algorithm` on the sockets on local `port` (listening or accepted) in one of `pids` (the criu that serves the
 * pages) or, if none of them has them, in one of this process's children. Returns what was done, or why nothing was:
 * never throws, the migration goes on with the host's default.
 */
export function setPageServerCongestion(pids: number[], port: number, algorithm: string): {set: boolean; detail: string} {
  try {
    const candidates = [...new Set([...pids, ...ownChildren()])]
    for (const pid of candidates) {
      let inodes: Set<string>
      try {
        inodes = localPortInodes(pid, port)
      } catch {
        continue // gone
      }
      if (inodes.size === 0) continue
      const fds = fdsOfSockets(pid, inodes)
      if (fds.length === 0) continue
      for (const fd of fds) {
        const own = getFdOf(pid, fd)
        try {
          setTcpCongestion(own, algorithm)
        } finally {
          fs.closeSync(own)
        }
      }
      return {set: true, detail: `${algorithm} on criu ${pid}'s page server (port ${port})`}
    }
    return {set: false, detail: `no process of this migration listens on port ${port}`}
  } catch (err) {
    return {set: false, detail: (err as Error).message}
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

// The e2e migration tests' world: two "hosts" (test/helpers/remote-host.ts), a counter container on one, and the
// `ocirt migrate` command line that moves it, run from either side's network namespace.
import {counterBundle as sharedCounterBundle, type Counter} from './counter'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Cleanup} from './cleanup'
import {ocirt, type OcirtResult} from './ocirt'
import {OCIRT_BIN} from './paths'
import type {HostPair, SshEndpoint} from './remote-host'

export type {Counter} from './counter'

/** A bundle (own rootfs copy, cgroup and --root) whose container counts into <bundle>/data/file with MIB of pattern. */
export function counterBundle(owner: Cleanup, mib = 16, args?: string[]): Counter {
  return sharedCounterBundle(owner, {mib, args, idPrefix: 'mig'})
}

export {counts, last} from './counter'

/** One side of a migration: where its ocirt keeps state and where bundles arriving there go. */
export interface Side {
  name: 'a' | 'b'
  endpoint: SshEndpoint
  root: string
  /** a fresh directory for bundles migrated to this side */
  bundles: string
}

export function sides(pair: HostPair, c: Cleanup): {a: Side; b: Side} {
  const make = (name: 'a' | 'b'): Side => {
    const dir = path.join(pair.dir, `side-${name}`)
    fs.mkdirSync(path.join(dir, 'bundles'), {recursive: true})
    c.dir(dir)
    return {name, endpoint: pair[name], root: path.join(dir, 'root'), bundles: path.join(dir, 'bundles')}
  }
  return {a: make('a'), b: make('b')}
}

export interface MigrateCall {
  from: Side
  to: Side
  id: string
  /** the bundle directory on the target */
  remoteBundle: string
  remoteOcirt?: string
  cgroupsPath?: string
  extra?: string[]
  knownHosts?: string
}

/** `ocirt --root <from> migrate <id> --to root@<to> ... --json`, run in the source side's network namespace. */
export async function migrateCmd(m: MigrateCall): Promise<OcirtResult & {summary?: Record<string, unknown>}> {
  const to = m.to.endpoint
  const args = [
    ...m.from.endpoint.nsPrefix, OCIRT_BIN, '--root', m.from.root, 'migrate', m.id,
    '--to', `root@${to.host}:${to.port}`, '-i', to.identityFile, '--known-hosts', m.knownHosts ?? to.knownHostsFile,
    '--remote-ocirt', m.remoteOcirt ?? OCIRT_BIN, '--remote-root', m.to.root, '--remote-bundle', m.remoteBundle,
    ...(m.cgroupsPath ? ['--target-cgroups-path', m.cgroupsPath] : []), '--json', ...(m.extra ?? []),
  ]
  const [bin, ...rest] = args
  const r = await ocirt(rest, {bin, timeoutMs: 120_000})
  let summary: Record<string, unknown> | undefined
  try {
    summary = JSON.parse(r.stdout)
  } catch {
    summary = undefined
  }
  return {...r, summary}
}

/** A wrapper for the target's ocirt that injects a failure (see OCIRT_MIGRATE_FAULT in src/migrate/agent/server.ts). */
export function faultyOcirt(dir: string, name: string, body: string): string {
  const file = path.join(dir, `ocirt-${name}`)
  fs.writeFileSync(file, `#!/bin/sh\n${body}\nexec ${OCIRT_BIN} "$@"\n`, {mode: 0o755})
  return file
}

export function stagingLeft(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, '.migrate'))
  } catch {
    return []
  }
}

/**
 * Kills what a failed migration may leave running under the pair's directory (a criu dump still serving lazy pages,
 * a lazy-pages daemon, an agent): processes whose command line names that directory, started by our tests.
 */
export function killStrays(dir: string): number[] {
  const killed: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    let cmd = ''
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
    } catch {
      continue
    }
    if (!cmd.includes(dir) || /\bsshd\b/.test(cmd)) continue // the pair's sshds have their own cleanup
    try {
      process.kill(pid, 'SIGKILL')
      killed.push(pid)
    } catch {
      // gone already
    }
  }
  return killed
}

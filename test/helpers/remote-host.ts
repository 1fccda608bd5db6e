// Two "hosts" on this machine for migration tests and the README demo, each with its own sshd:
//   a: the root network namespace, sshd listening ONLY on the host end of a veth pair
//   b: a network namespace ocirt-t-<rand> holding the other end, sshd started through nsenter --net
//      (not `ip netns exec`, which remounts /sys and hides the cgroup mounts from everything started there)
// Both share the filesystem (it is one machine), so tests give each side its own --root and bundle dirs.
// Everything (sshd process trees by PID, veth, netns, temp dir) is registered for cleanup as soon as it exists.
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes, randomInt} from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import type {SshTarget} from '../../src/migrate/ssh'
import {Cleanup, cleanupFor, isAlive, type AfterHost} from './cleanup'

export interface SshEndpoint extends SshTarget {
  /** argv prefix to run a command in this endpoint's network namespace; [] for the host side */
  nsPrefix: string[]
  /** private key authorised on every endpoint of the pair */
  identityFile: string
  /** known_hosts that holds both endpoints' host keys ([addr]:port lines) */
  knownHostsFile: string
  sshdPid: number
  /** this endpoint's own host key (public, one known_hosts-style "type base64" pair) */
  hostKey: string
}

export interface HostPair {
  a: SshEndpoint
  b: SshEndpoint
  /** name of b's network namespace (/run/netns/<netns>) */
  netns: string
  /** the veth ends: vethA in the root namespace, vethB in netns */
  vethA: string
  vethB: string
  /** temp dir with keys, configs, logs */
  dir: string
  stop(): Promise<void>
}

const SSHD = '/usr/sbin/sshd'

/** Make the pair. With an owner (t, node:test's after, or a Cleanup) it is torn down with it; stop() always works. */
export async function makeHostPair(owner?: AfterHost | Cleanup): Promise<HostPair> {
  const own = new Cleanup()
  const stop = () => own.run()
  if (owner instanceof Cleanup) owner.add('host pair', stop)
  else if (owner) cleanupFor(owner).add('host pair', stop)
  try {
    return await build(own, stop)
  } catch (e) {
    await stop()
    throw e
  }
}

async function build(own: Cleanup, stop: () => Promise<void>): Promise<HostPair> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-hosts-'))
  own.dir(dir)
  fs.mkdirSync('/run/sshd', {recursive: true, mode: 0o755}) // sshd's privilege separation directory

  const identityFile = path.join(dir, 'id_ed25519')
  keygen(identityFile, 'ocirt-test-client')
  fs.copyFileSync(`${identityFile}.pub`, path.join(dir, 'authorized_keys'))

  const tag = randomBytes(3).toString('hex')
  const netns = `ocirt-t-${tag}`
  const vethA = `ota${tag}`
  const vethB = `otb${tag}`
  const [addrA, addrB] = freeSubnet()

  ip('netns', 'add', netns)
  own.netns(netns)
  ip('link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB)
  own.veth(vethA)
  ip('link', 'set', vethB, 'netns', netns)
  ip('addr', 'add', `${addrA}/30`, 'dev', vethA)
  ip('link', 'set', vethA, 'up')
  ip('-n', netns, 'addr', 'add', `${addrB}/30`, 'dev', vethB)
  ip('-n', netns, 'link', 'set', vethB, 'up')
  ip('-n', netns, 'link', 'set', 'lo', 'up')

  const nsPrefix = ['nsenter', `--net=/var/run/netns/${netns}`]
  const a = await startSshd(own, path.join(dir, 'a'), addrA, [], dir)
  const b = await startSshd(own, path.join(dir, 'b'), addrB, nsPrefix, dir)

  const knownHostsFile = path.join(dir, 'known_hosts')
  fs.writeFileSync(knownHostsFile, `[${addrA}]:${a.port} ${a.hostKey}\n[${addrB}]:${b.port} ${b.hostKey}\n`, {mode: 0o600})
  await Promise.all([waitReachable(addrA, a.port), waitReachable(addrB, b.port)])

  const endpoint = (host: string, s: Started, prefix: string[]): SshEndpoint => ({
    host, port: s.port, user: 'root', nsPrefix: prefix, identityFile, knownHostsFile, sshdPid: s.pid, hostKey: s.hostKey,
  })
  return {a: endpoint(addrA, a, []), b: endpoint(addrB, b, nsPrefix), netns, vethA, vethB, dir, stop}
}

export interface Started {
  pid: number
  port: number
  hostKey: string
}

/** sshd -D with its own config, host key, pid file and log in `home`; retried on another port if the bind fails. */
export async function startSshd(own: Cleanup, home: string, addr: string, prefix: string[], shared: string): Promise<Started> {
  fs.mkdirSync(home, {mode: 0o700})
  const hostKeyFile = path.join(home, 'ssh_host_ed25519_key')
  keygen(hostKeyFile, `ocirt-test-host-${addr}`)
  const hostKey = fs.readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
  const log = path.join(home, 'sshd.log')
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = randomInt(20000, 60000)
    const config = path.join(home, 'sshd_config')
    fs.writeFileSync(config, [
      `Port ${port}`,
      `ListenAddress ${addr}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(home, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(shared, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'MaxSessions 64',
      'MaxStartups 64:30:128',
      'PrintMotd no',
      'LogLevel VERBOSE',
      // bash reads ~/.bashrc for every command sshd runs, unless it believes it is a nested shell: this
      // machine's root bashrc (pyenv init) costs ~0.7 s per command and can block on pyenv's lock for 60 s
      'SetEnv SHLVL=1',
      '',
    ].join('\n'))
    fs.writeFileSync(log, '')
    const argv = [...prefix, SSHD, '-D', '-f', config, '-E', log]
    const child = spawn(argv[0], argv.slice(1), {stdio: 'ignore', detached: true})
    child.unref()
    const pid = child.pid!
    own.add(`sshd ${addr}:${port} (pid ${pid}) and its sessions`, () => killTree(pid))
    const up = await waitForLog(log, child, /Server listening on/)
    if (up) return {pid, port, hostKey}
    if (!/Address already in use|Cannot bind/i.test(fs.readFileSync(log, 'utf8'))) {
      throw new Error(`sshd on ${addr}:${port} did not start:\n${fs.readFileSync(log, 'utf8')}`)
    }
  }
  throw new Error(`sshd on ${addr}: no free port after 5 tries (log: ${log})`)
}

/** true once the log matches; false when the process exited first (or after 10 s). */
async function waitForLog(log: string, child: ReturnType<typeof spawn>, re: RegExp): Promise<boolean> {
  let exited = false
  child.once('exit', () => (exited = true))
  for (let i = 0; i < 200; i++) {
    if (re.test(fs.readFileSync(log, 'utf8'))) return true
    if (exited) return false
    await sleep(50)
  }
  return false
}

/** TCP connect from the root namespace (where tests connect from) until sshd answers with its banner. */
async function waitReachable(addr: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, addr)
      s.once('data', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(50)
  }
  throw new Error(`sshd ${addr}:${port} does not answer`)
}

export function keygen(file: string, comment: string): void {
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file])
}

function ip(...args: string[]): void {
  run('ip', args)
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, {encoding: 'utf8', timeout: 30_000})
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`)
  return r.stdout
}

/** Two addresses of a random 10.x.y.z/30 that overlaps no address or route of the root namespace. */
function freeSubnet(): [string, string] {
  const used = [...run('ip', ['-4', '-o', 'addr', 'show']).matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/g),
    ...run('ip', ['-4', 'route', 'show', 'table', 'all']).matchAll(/^(?:\S+ )?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/gm)]
    .map((m) => ({net: toInt(m[1]), bits: Number(m[2] ?? 32)}))
  for (let i = 0; i < 100; i++) {
    const base = ((10 << 24) | randomInt(0, 1 << 22) << 2) >>> 0
    const overlaps = used.some(({net, bits}) => {
      const shortest = Math.min(bits, 30)
      const mask = shortest === 0 ? 0 : (~0 << (32 - shortest)) >>> 0
      return ((net & mask) >>> 0) === ((base & mask) >>> 0)
    })
    if (!overlaps) return [fromInt(base + 1), fromInt(base + 2)]
  }
  throw new Error('no free 10.x.y.z/30 found')
}

const toInt = (a: string) => a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0)
const fromInt = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')

/** The processes below pid (sshd's per-connection children, the commands they run), deepest first, then pid. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid)!.push(Number(e))
    } catch {}
  }
  const out: number[] = []
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      walk(c)
      out.push(c)
    }
  }
  walk(pid)
  return out
}

/**
 * pid's descendants (found before anything is signalled, so none is re-parented away) and then pid: SIGTERM, and
 * SIGKILL for what is left after a second (a shell killed outright half-way through ~/.bashrc can leave its
 * tools' lock files behind).
 */
async function killTree(pid: number): Promise<void> {
  const all = [...descendants(pid), pid]
  const signal = (sig: NodeJS.Signals) => {
    for (const p of all) {
      try {
        process.kill(p, sig)
      } catch {}
    }
  }
  signal('SIGTERM')
  for (let i = 0; i < 20 && all.some(isAlive); i++) await sleep(50)
  if (!all.some(isAlive)) return
  signal('SIGKILL')
  for (let i = 0; i < 100 && all.some(isAlive); i++) await sleep(50)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

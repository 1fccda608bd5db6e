// A QEMU VM as the SOURCE host of a migration test, this machine as the target. The VM runs Debian 12's kernel,
// which tracks dirty memory (soft-dirty): this machine's kernel does not, so pre-copy can only be tested from there.
// scripts/setup-vm.sh makes the kernel, its modules and the initramfs (test/fixtures/build/vm/).
//
// Per VM host (all registered for cleanup as soon as they exist, all named uniquely):
//   - a directory shared read-write with the VM as /vmshare: the script the VM runs, its output, the results;
//   - a network namespace ocirt-vm-<tag> holding the tap ocv<tag> (10.98.0.1/30; the VM is 10.98.0.2 on eth0);
//   - the target's sshd in that namespace, listening on the tap's address only;
//   - qemu, started under `nsenter --net` of that namespace, killed by the PID in its pidfile at the end.
// The VM sees /usr, /etc, /opt/ocirt and this worktree (read-only, with a tmpfs overlay) and /vmshare, not the
// whole host: test/vm/init.sh. Every VM run is one boot that runs one script and powers off.
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {Cleanup, isAlive} from './cleanup'
import {FIXTURES_BUILD, REPO} from './paths'
import {keygen, startSshd} from './remote-host'

export const VM_DIR = path.join(FIXTURES_BUILD, 'vm')
const QEMU = 'qemu-system-x86_64'
const HOST_ADDR = '10.98.0.1'
const VM_ADDR = '10.98.0.2'

/** Why no VM can be made here (a message for a failing test), or undefined when everything is in place. */
export function vmMissing(): string | undefined {
  const setup = 'run `bash scripts/setup-vm.sh` as root (scripts/setup.sh does): it installs qemu-system-x86 and makes the kernel and initramfs'
  if (spawnSync(QEMU, ['--version'], {stdio: 'ignore'}).status !== 0) return `${QEMU} is not installed: ${setup}`
  for (const f of ['vmlinuz', 'initramfs.cpio.gz', 'kernel-version']) {
    if (!fs.existsSync(path.join(VM_DIR, f))) return `${path.join(VM_DIR, f)} is missing: ${setup}`
  }
  return undefined
}

export interface VmRun {
  /** the script's exit status (from /vmshare/rc), or undefined when the VM did not get that far */
  rc?: number
  /** the script's output */
  out: string
  /** the serial console */
  console: string
  ms: number
}

export interface VmHost {
  /** shared with the VM as /vmshare */
  dir: string
  netns: string
  tap: string
  /** the target as the VM reaches it */
  target: {host: string; port: number}
  /** in dir: the client key (authorised by the target's sshd) and the known_hosts with its host key */
  identityFile: string
  knownHostsFile: string
  /** argv prefix to run a command in the target's network namespace */
  nsPrefix: string[]
  /** the -cpu option: TCG's max minus every CPUID flag this host's CPU lacks */
  cpu: string
  /** boots the VM, runs `script` (a shell script's text) in it as root, waits for the power-off */
  run(script: string, timeoutMs: number): Promise<VmRun>
}

export async function makeVmHost(owner: Cleanup, name: string): Promise<VmHost> {
  const missing = vmMissing()
  if (missing) throw new Error(`no test VM: ${missing}`)
  const tag = randomBytes(3).toString('hex')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ocirt-vm-${name}-`))
  owner.dir(dir)
  fs.chmodSync(dir, 0o755)
  const netns = `ocirt-vm-${tag}`
  const tap = `ocv${tag}`
  ip('netns', 'add', netns)
  owner.netns(netns) // deleting the namespace deletes the tap in it
  ip('-n', netns, 'link', 'set', 'lo', 'up')
  ip('-n', netns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap')
  ip('-n', netns, 'addr', 'add', `${HOST_ADDR}/30`, 'dev', tap)
  ip('-n', netns, 'link', 'set', tap, 'up')
  const nsPrefix = ['nsenter', `--net=/var/run/netns/${netns}`]

  fs.mkdirSync('/run/sshd', {recursive: true, mode: 0o755})
  const identityFile = path.join(dir, 'id_ed25519')
  keygen(identityFile, `ocirt-test-vm-${name}`)
  fs.copyFileSync(`${identityFile}.pub`, path.join(dir, 'authorized_keys'))
  const sshd = await startSshd(owner, path.join(dir, 'sshd'), HOST_ADDR, nsPrefix, dir)
  const knownHostsFile = path.join(dir, 'known_hosts')
  fs.writeFileSync(knownHostsFile, `[${HOST_ADDR}]:${sshd.port} ${sshd.hostKey}\n`, {mode: 0o644})
  const cpu = cpuModel()
  const kver = fs.readFileSync(path.join(VM_DIR, 'kernel-version'), 'utf8').trim()
  let runs = 0

  const run = async (script: string, timeoutMs: number): Promise<VmRun> => {
    const n = ++runs
    const scriptFile = path.join(dir, `run-${n}.sh`)
    fs.writeFileSync(scriptFile, script, {mode: 0o755})
    for (const f of ['rc', 'out.log']) fs.rmSync(path.join(dir, f), {force: true})
    const consoleFile = path.join(dir, `console-${n}.log`)
    const pidFile = path.join(dir, `qemu-${n}.pid`)
    const accel = kvmUsable() ? 'kvm' : 'tcg,thread=multi'
    const share = (tag: string, p: string, ro: boolean) => ['-virtfs', `local,path=${p},mount_tag=${tag},security_model=passthrough${ro ? ',readonly=on' : ''},multidevs=remap`]
    const argv = [
      ...nsPrefix, QEMU, '-accel', accel, '-cpu', cpu, '-smp', '2,sockets=2,cores=1,threads=1', '-m', '2048',
      '-display', 'none', '-nodefaults', '-no-user-config', '-monitor', 'none', '-serial', `file:${consoleFile}`,
      '-pidfile', pidFile, '-no-reboot', '-kernel', path.join(VM_DIR, 'vmlinuz'), '-initrd', path.join(VM_DIR, 'initramfs.cpio.gz'),
      '-append', `console=ttyS0 quiet panic=-1 ocirt.wt=${REPO} ocirt.ip=${VM_ADDR}/30 ocirt.kver=${kver} ocirt.cmd=/vmshare/run-${n}.sh`,
      ...share('usr', '/usr', true), ...share('etc', '/etc', true), ...share('opt', '/opt/ocirt', true), ...share('wt', REPO, true), ...share('out', dir, false),
      '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`, '-device', 'virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:98:00:02',
    ]
    const t0 = Date.now()
    const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()))
    // nsenter execs qemu (same PID); the pidfile says so once qemu runs
    owner.add(`qemu (pidfile ${pidFile})`, () => killQemu(pidFile, child.pid))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))
    const how = await Promise.race([exited, timedOut])
    clearTimeout(timer)
    if (how === 'timeout') await killQemu(pidFile, child.pid)
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '')
    const rcText = read(path.join(dir, 'rc')).trim()
    const result: VmRun = {rc: rcText ? Number(rcText) : undefined, out: read(path.join(dir, 'out.log')), console: read(consoleFile), ms: Date.now() - t0}
    if (how === 'timeout') throw new Error(`the VM did not power off within ${timeoutMs} ms; its output:\n${result.out.slice(-3000)}\nconsole:\n${result.console.slice(-2000)}`)
    if (how !== 0) throw new Error(`qemu exited with ${how}: ${stderr.trim()}\nconsole:\n${result.console.slice(-2000)}`)
    return result
  }
  return {dir, netns, tap, target: {host: HOST_ADDR, port: sshd.port}, identityFile, knownHostsFile, nsPrefix, cpu, run}
}

/**
 * TCG's `max` offers CPUID flags this host's CPU may lack; ocirt's preflight (rightly) refuses a target whose CPU
 * lacks a flag the source has. So: every flag QEMU knows (`-cpu help`) that /proc/cpuinfo does not list, switched
 * off (names compared without '-', '_' and '.': cpuinfo's sse4_1 is QEMU's sse4.1). The vmx-* sub-features and the
 * kvm-* paravirtual ones are left alone (never offered by TCG's max on this host kind).
 */
export function cpuModel(): string {
  const help = spawnSync(QEMU, ['-cpu', 'help'], {encoding: 'utf8'}).stdout ?? ''
  const at = help.indexOf('Recognized CPUID flags:')
  const known = at < 0 ? [] : help.slice(at).split(/\s+/).slice(3).filter((f) => /^[a-z0-9][a-z0-9_.-]*$/.test(f))
  const norm = (f: string) => f.replace(/[-_.]/g, '')
  const flagsLine = /^flags\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? ''
  const host = new Set(flagsLine.split(/\s+/).map(norm))
  const off = [...new Set(known)].filter((f) => !host.has(norm(f)) && !/^(vmx-|kvm)/.test(f))
  return ['max', ...off.map((f) => `-${f}`)].join(',')
}

/** /dev/kvm that opens: then the VM runs at native speed (with the same CPU model) */
function kvmUsable(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'))
    return true
  } catch {
    return false
  }
}

async function killQemu(pidFile: string, spawned: number | undefined): Promise<void> {
  let pid = spawned
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim()) || spawned
  } catch {
    // qemu never wrote it: the spawned PID (nsenter, or qemu it became) is the one
  }
  if (!pid || !isAlive(pid)) return
  let cmd = ''
  try {
    cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return
  }
  if (!cmd.includes(QEMU) && !cmd.includes('nsenter')) return // the PID was reused by something else
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return
  }
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50))
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, {encoding: 'utf8', timeout: 30_000})
  if (r.error || r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`)
}

export {Cleanup}

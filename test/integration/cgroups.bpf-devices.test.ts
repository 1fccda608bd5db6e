// cgroup v2 device rules on the real kernel: a V2Manager on the cgroup2 mount (/sys/fs/cgroup/unified on this
// hybrid machine, where device programs attach to any cgroup2 directory) attaches the eBPF program, a live shell
// in the cgroup is refused exactly the denied devices, and a second apply replaces the program (still one).
// Also: the rule emulation agrees with the kernel's own v1 devices controller, and a refused program's error
// carries the verifier log. And a real container run by ocirt in a mount namespace whose /sys/fs/cgroup is
// the cgroup2 hierarchy (a pure v2 host's view), where ocirt picks its v2 driver by itself.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as readline from 'node:readline'
import {emulateRules, type DeviceState} from '../../src/core/cgroups/bpf-devices/emulate'
import {detectCgroupMode} from '../../src/core/cgroups/index'
import type {LinuxDeviceCgroup} from '../../src/core/cgroups/types'
import {V2Manager} from '../../src/core/cgroups/v2'
import {BPF_F_ALLOW_MULTI, BpfError, attachDeviceProgram, loadDeviceProgram, queryDevicePrograms} from '../../src/core/sys/bpf'
import {deviceProgram} from '../../src/core/cgroups/bpf-devices/program'
import {cleanupFor} from '../helpers/cleanup'
import {containerBundle, runOut, sh} from '../helpers/containers'
import {OCIRT_BIN} from '../helpers/paths'
import {requires} from '../helpers/requires'

const isRoot = process.getuid?.() === 0
const mode = detectCgroupMode()
const V2_ROOT = mode === 'v2' ? '/sys/fs/cgroup' : mode === 'hybrid' ? '/sys/fs/cgroup/unified' : undefined
const skipV2 = !isRoot ? 'needs root' : !V2_ROOT ? 'no cgroup2 mount' : false
const V1_DEVICES = '/sys/fs/cgroup/devices'
const skipV1 = !isRoot ? 'needs root' : !fs.existsSync(path.join(V1_DEVICES, 'devices.list')) ? 'no v1 devices controller' : false

const unique = (what: string) => `ocirt-bpfdev-${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
const c = (major: number, minor: number, access = 'rwm'): LinuxDeviceCgroup => ({allow: true, type: 'c', major, minor, access})
const DENY_ALL: LinuxDeviceCgroup = {allow: false, access: 'rwm'}

/** A shell that, for each path written to it, opens the file for reading and answers "<path> ok" or the error. */
class Prober {
  private readonly lines: AsyncIterator<string>
  constructor(readonly child: ChildProcess) {
    this.lines = readline.createInterface({input: child.stdout!})[Symbol.asyncIterator]()
  }

  static start(): Prober {
    const script = 'while read p; do if out=$(od -An -N1 "$p" 2>&1); then echo "$p ok"; else echo "$p $out"; fi; done'
    return new Prober(spawn('sh', ['-c', script], {stdio: ['pipe', 'pipe', 'inherit']}))
  }

  async open(file: string): Promise<string> {
    this.child.stdin!.write(`${file}\n`)
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    const next = await this.lines.next()
    clearTimeout(timer)
    if (next.done) throw new Error(`prober exited before answering for ${file}`)
    assert.ok(next.value.startsWith(`${file} `), next.value)
    return next.value.slice(file.length + 1)
  }
}

function programIds(dir: string): number[] {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
  try {
    return queryDevicePrograms(fd)
  } finally {
    fs.closeSync(fd)
  }
}

const programsOn = (dir: string): number => programIds(dir).length

test('v2 device rules: a live process in the cgroup is refused denied devices, and an update replaces the program', {skip: skipV2}, async (t) => {
  const cleanup = cleanupFor(t)
  const id = unique('live')
  const m = new V2Manager(`/${id}`, {id, verb: 'test', root: V2_ROOT})
  cleanup.cgroup(m.dir)
  m.create()
  m.apply({devices: [DENY_ALL, c(1, 3)]}) // /dev/null only
  assert.equal(programsOn(m.dir), 1)

  const prober = Prober.start()
  cleanup.pid(prober.child)
  m.addProcess(prober.child.pid!)
  assert.equal(await prober.open('/dev/null'), 'ok')
  assert.match(await prober.open('/dev/zero'), /Operation not permitted/)
  assert.equal(await prober.open('/etc/hostname'), 'ok', 'regular files are not devices')

  // update on the live process: now /dev/zero and not /dev/null; the old program is replaced, not stacked
  const later = new V2Manager('', {id, verb: 'update', dir: m.dir})
  later.apply({devices: [DENY_ALL, c(1, 5, 'r')]})
  assert.equal(programsOn(m.dir), 1, 'one program after the update')
  assert.equal(await prober.open('/dev/zero'), 'ok')
  assert.match(await prober.open('/dev/null'), /Operation not permitted/)

  // the config's order: a later rule for the same device wins; a later "allow a" lifts everything
  later.apply({devices: [DENY_ALL, c(1, 5), c(1, 3), {allow: false, type: 'c', major: 1, minor: 5, access: 'r'}]})
  assert.match(await prober.open('/dev/zero'), /Operation not permitted/)
  assert.equal(await prober.open('/dev/null'), 'ok')
  later.apply({devices: [DENY_ALL, {allow: true, access: 'rwm'}]})
  assert.equal(programsOn(m.dir), 1)
  assert.equal(await prober.open('/dev/zero'), 'ok')
  assert.equal(await prober.open('/dev/full'), 'ok')

  prober.child.kill('SIGKILL')
  await new Promise((resolve) => prober.child.once('exit', resolve))
  m.destroy()
  assert.equal(fs.existsSync(m.dir), false)
})

test('v2 device rules: a fresh cgroup whose rules restrict nothing gets no program; bad rules fail before any', {skip: skipV2}, (t) => {
  const cleanup = cleanupFor(t)
  const id = unique('fresh')
  const m = new V2Manager(`/${id}`, {id, verb: 'create', root: V2_ROOT})
  cleanup.cgroup(m.dir)
  m.create()
  m.apply({devices: [c(1, 3), c(136, -1)]}) // allows on an allow-all: the runtime's defaults without a deny-all
  assert.equal(programsOn(m.dir), 0)
  assert.throws(() => m.apply({devices: [DENY_ALL, {allow: true, type: 'u'}]}),
    {message: `create ${id}: linux.resources.devices[1]: type "u": must be a, b or c`})
  assert.equal(programsOn(m.dir), 0)
  m.apply({devices: [DENY_ALL]})
  const [first] = programIds(m.dir)
  m.apply({devices: [c(1, 3)]}) // restricts nothing, but the same manager attached a program before: replace it
  const now = programIds(m.dir)
  assert.equal(now.length, 1)
  assert.notEqual(now[0], first)
  m.destroy()
})

test('v2 device rules: several programs already on the cgroup are all replaced by one', {skip: skipV2}, (t) => {
  const cleanup = cleanupFor(t)
  const id = unique('many')
  const m = new V2Manager(`/${id}`, {id, verb: 'create', root: V2_ROOT})
  cleanup.cgroup(m.dir)
  m.create()
  const cg = fs.openSync(m.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
  try {
    for (let i = 0; i < 2; i++) { // someone else's (or a crashed run's) programs: deny everything
      const prog = loadDeviceProgram(deviceProgram({defaultAllow: false, exceptions: []}), 'Apache-2.0', 'ocirt_test')
      try {
        attachDeviceProgram(cg, prog, BPF_F_ALLOW_MULTI)
      } finally {
        fs.closeSync(prog)
      }
    }
  } finally {
    fs.closeSync(cg)
  }
  assert.equal(programsOn(m.dir), 2)
  m.apply({devices: [DENY_ALL, c(1, 3)]})
  assert.equal(programsOn(m.dir), 1)
  m.destroy()
})

test('a program the verifier refuses: the error carries the verifier log', {skip: isRoot ? false : 'needs root'}, () => {
  const exitOnly = Buffer.alloc(8)
  exitOnly[0] = 0x95 // exit with r0 never set
  assert.throws(() => loadDeviceProgram(exitOnly, 'Apache-2.0', 'ocirt_bad'),
    (e: unknown) => e instanceof BpfError && e.code === 'EACCES' && /R0 !read_ok/.test(e.log))
})

/** devices.list of a v1 cgroup as a DeviceState (whitelists only: a blacklist lists just "a *:* rwm"). */
function listAsState(text: string): DeviceState {
  const lines = text.trim().split('\n').filter(Boolean)
  if (lines.length === 1 && lines[0] === 'a *:* rwm') return {defaultAllow: true, exceptions: []}
  return {defaultAllow: false, exceptions: lines.map((l) => {
    const [type, nums, acc] = l.split(' ')
    const [major, minor] = nums.split(':').map((n) => (n === '*' ? -1 : Number(n)))
    let access = 0
    for (const ch of acc) access |= ch === 'r' ? 2 : ch === 'w' ? 4 : 1
    return {type: type === 'b' ? 1 : 2, major, minor, access}
  })}
}

test('the rule emulation agrees with the kernel\'s v1 devices controller', {skip: skipV1}, (t) => {
  const cleanup = cleanupFor(t)
  const dir = path.join(V1_DEVICES, unique('v1'))
  fs.mkdirSync(dir)
  cleanup.cgroup(dir)
  let seed = 4242
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]
  const line = (r: LinuxDeviceCgroup) => {
    const n = (x: number | null | undefined) => (x === undefined || x === null || x === -1 ? '*' : String(x))
    return `${r.type ?? 'a'} ${n(r.major)}:${n(r.minor)} ${r.access}`
  }
  for (let round = 0; round < 60; round++) {
    const rules: LinuxDeviceCgroup[] = [DENY_ALL]
    for (let k = 1 + rand(8); k > 0; k--) {
      rules.push({allow: rand(3) !== 0, type: pick(['c', 'c', 'b', rand(8) === 0 ? 'a' : 'c']), major: pick([-1, 1, 5, 136]),
        minor: pick([-1, 0, 3, 5]), access: pick(['r', 'w', 'm', 'rw', 'rwm', 'wm'])})
    }
    for (const r of rules) fs.writeFileSync(path.join(dir, r.allow ? 'devices.allow' : 'devices.deny'), line(r))
    const kernel = listAsState(fs.readFileSync(path.join(dir, 'devices.list'), 'utf8'))
    const ours = emulateRules(rules)
    const exceptions = ours.defaultAllow ? [] : ours.exceptions // the kernel does not list a blacklist's exceptions
    assert.deepEqual(kernel, {defaultAllow: ours.defaultAllow, exceptions}, rules.map((r) => `${r.allow ? 'allow' : 'deny'} ${line(r)}`).join('; '))
  }
})

// the deny leaves mknod (m): the helper creates /dev/zero inside the cgroup, as on v1
test('a container on a cgroup v2 view: the default devices work, a denied one is refused', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt') || !V2_ROOT) return
  const b = containerBundle(t, {linux: {resources: {devices: [DENY_ALL, {allow: false, type: 'c', major: 1, minor: 5, access: 'rw'}]}}},
    {idPrefix: 'bpfdev'})
  // ocirt in a private mount namespace with cgroup2 over /sys/fs/cgroup: detectCgroupMode says v2 there
  const wrapper = path.join(path.dirname(b.dir), 'ocirt-v2-view')
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec unshare -m --propagation private /bin/sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' sh ${OCIRT_BIN} "$@"\n`, {mode: 0o755})
  const script = 'grep -c cgroup2 /proc/self/mountinfo >/dev/null; cat /proc/self/cgroup; ' +
    'for d in null zero full urandom; do if head -c1 /dev/$d >/dev/null; then echo "$d ok"; fi; done 2>&1; echo x >/dev/null && echo write-null ok'
  b.writeSpec((spec) => {
    spec.process!.args = sh(script)
    spec.mounts!.push({destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro']})
  })
  const out = await runOut(b, {bin: wrapper})
  assert.match(out, new RegExp(`^0::(/|${b.cgroupsPath})$`, 'm'), 'the container is in its cgroup2 cgroup')
  assert.match(out, /^null ok$/m)
  assert.match(out, /^full ok$/m)
  assert.match(out, /^urandom ok$/m)
  assert.match(out, /\/dev\/zero: Operation not permitted/)
  assert.doesNotMatch(out, /^zero ok$/m)
  assert.match(out, /^write-null ok$/m)
  assert.equal(fs.existsSync(path.join(V2_ROOT, b.cgroupsPath)), false, 'run removed the cgroup (and its program with it)')
})

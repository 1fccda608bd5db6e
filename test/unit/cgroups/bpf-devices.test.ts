// The cgroup v2 device program generator: ordered OCI device rules → the v1 devices controller's state
// (emulate.ts) → eBPF instructions (program.ts), run through a small eBPF interpreter (test/helpers/ebpf.ts).
// The table fixes the meaning of rule lists as the v1 kernel gives it; the random cross-check proves the
// instructions decide exactly what the state says.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {ACC, ANY, DEV, emulateRules, stateAllows, type DeviceState} from '../../../src/core/cgroups/bpf-devices/emulate'
import {deviceFilterError} from '../../../src/core/cgroups/bpf-devices/attach'
import {deviceInstructions, deviceProgram, OP} from '../../../src/core/cgroups/bpf-devices/program'
import type {LinuxDeviceCgroup} from '../../../src/core/cgroups/types'
import {InvalidInput} from '../../../src/core/errors'
import {BpfError} from '../../../src/core/sys/bpf'
import {deviceCgroupRules} from '../../../src/core/mounts/devices'
import type {Spec} from '../../../src/core/spec/types'
import {runDeviceProgram, type DeviceAccess} from '../../helpers/ebpf'

/** "c 1:3 rw" → an access to that device (type c or b, numbers, access letters). */
function dev(text: string): DeviceAccess {
  const m = /^([cb]) (\d+):(\d+) ([rwm]+)$/.exec(text)
  if (!m) throw new Error(`bad device access ${text}`)
  let access = 0
  for (const ch of m[4]) access |= ch === 'r' ? ACC.read : ch === 'w' ? ACC.write : ACC.mknod
  return {type: m[1] === 'b' ? DEV.block : DEV.char, major: Number(m[2]), minor: Number(m[3]), access}
}

/** "deny a", "allow c 1:* rw", "allow c 1:3" (rwm) → an OCI rule. */
function rule(text: string): LinuxDeviceCgroup {
  const [verb, type, numbers, access] = text.split(' ')
  const r: LinuxDeviceCgroup = {allow: verb === 'allow', type}
  if (numbers) {
    const [maj, min] = numbers.split(':').map((n) => (n === '*' ? -1 : Number(n)))
    r.major = maj
    r.minor = min
  }
  if (access) r.access = access
  return r
}

const allowed = (rules: LinuxDeviceCgroup[], access: string): boolean =>
  runDeviceProgram(deviceProgram(emulateRules(rules)), dev(access)) === 1

interface Row {
  name: string
  rules: string[]
  allow: string[]
  deny: string[]
}

const TABLE: Row[] = [
  {name: 'no rules: nothing restricted', rules: [], allow: ['c 1:3 rwm', 'b 8:0 rw', 'c 10:229 m'], deny: []},
  {name: 'deny all', rules: ['deny a'], allow: [], deny: ['c 1:3 r', 'b 8:0 w', 'c 0:0 m']},
  {name: 'deny all, then one device', rules: ['deny a', 'allow c 1:3 rwm'],
    allow: ['c 1:3 r', 'c 1:3 rw', 'c 1:3 m'], deny: ['c 1:5 r', 'b 1:3 r', 'c 3:1 r']},
  {name: 'one exception must grant every requested bit', rules: ['deny a', 'allow c 1:3 r'],
    allow: ['c 1:3 r'], deny: ['c 1:3 rw', 'c 1:3 w', 'c 1:3 m']},
  {name: 'rules for the same device merge their access', rules: ['deny a', 'allow c 1:3 r', 'allow c 1:3 w'],
    allow: ['c 1:3 rw'], deny: ['c 1:3 m']},
  {name: 'wildcard major and minor', rules: ['deny a', 'allow c *:* m', 'allow b 8:* rw'],
    allow: ['c 1:3 m', 'c 4095:1048575 m', 'b 8:0 rw', 'b 8:16 r'], deny: ['c 1:3 r', 'b 8:0 m', 'b 9:0 r', 'b 1:3 m']},
  {name: 'a later deny takes access from the same device', rules: ['deny a', 'allow c 1:5 rwm', 'deny c 1:5 w'],
    allow: ['c 1:5 r', 'c 1:5 m'], deny: ['c 1:5 w', 'c 1:5 rw']},
  {name: 'a later deny of every bit removes the device', rules: ['deny a', 'allow c 1:5 rw', 'deny c 1:5 rwm'],
    allow: [], deny: ['c 1:5 r']},
  {name: 'v1 punches no holes: a deny for one device leaves a wildcard allow whole',
    rules: ['deny a', 'allow c 1:* rwm', 'deny c 1:5 rwm'], allow: ['c 1:5 r', 'c 1:3 w'], deny: ['c 2:5 r']},
  {name: 'allow all, then deny one access', rules: ['allow a', 'deny c 1:5 w'],
    allow: ['c 1:5 r', 'c 1:5 m', 'c 1:3 w', 'b 8:0 rwm'], deny: ['c 1:5 w', 'c 1:5 rw']},
  {name: 'no leading "a" rule: the list restricts an allow-all', rules: ['deny c 1:5 rwm', 'deny b *:* w'],
    allow: ['c 1:3 rw', 'b 8:0 r'], deny: ['c 1:5 r', 'b 8:0 w']},
  {name: 'a later allow gives back what an identical deny took', rules: ['deny c 1:5 rwm', 'allow c 1:5 r'],
    allow: ['c 1:5 r'], deny: ['c 1:5 w']},
  {name: 'an allow for a narrower device does not lift a wildcard deny', rules: ['deny c 1:* r', 'allow c 1:5 r'],
    allow: ['c 1:5 w'], deny: ['c 1:5 r', 'c 1:3 r']},
  {name: 'a later "a" rule resets the list (allow)', rules: ['deny a', 'allow c 1:3 rwm', 'allow a'],
    allow: ['c 1:3 r', 'c 1:5 rw', 'b 8:0 m'], deny: []},
  {name: 'a later "a" rule resets the list (deny)', rules: ['allow c 1:3 rwm', 'deny a'], allow: [], deny: ['c 1:3 r']},
  {name: 'type a ignores its numbers, as the kernel does', rules: ['deny a 1:3 r'], allow: [], deny: ['c 1:5 w', 'b 8:0 m']},
  {name: 'numbers beyond a sign-extended imm32', rules: ['deny a', 'allow c 2147483648:4294967294 r', 'allow c 2147483647:0 r'],
    allow: ['c 2147483648:4294967294 r', 'c 2147483647:0 r'], deny: ['c 2147483648:0 r', 'c 0:4294967294 r', 'c 4294967295:0 r']},
]

describe('cgroup v2 device program', () => {
  for (const row of TABLE) {
    it(row.name, () => {
      const rules = row.rules.map(rule)
      for (const a of row.allow) assert.equal(allowed(rules, a), true, `${row.rules.join(', ')}: ${a} allowed`)
      for (const a of row.deny) assert.equal(allowed(rules, a), false, `${row.rules.join(', ')}: ${a} denied`)
    })
  }

  it('the runtime default devices go after the config\'s deny-all, and a later config rule still wins', () => {
    const spec = (devices: string[], nodes: Spec['linux'] = {}) =>
      ({ociVersion: '1.0.2', linux: {...nodes, resources: {devices: devices.map(rule)}}}) as Spec
    const defaults = deviceCgroupRules(spec(['deny a']))
    for (const a of ['c 1:3 rw', 'c 1:5 r', 'c 1:7 w', 'c 1:8 r', 'c 1:9 r', 'c 5:0 rw', 'c 5:2 rw', 'c 136:4 rw', 'c 1:3 m'])
      assert.equal(allowed(defaults, a), true, `default ${a}`)
    for (const a of ['c 10:229 rw', 'b 8:0 r', 'c 1:1 r', 'c 4:1 w']) assert.equal(allowed(defaults, a), false, `not default ${a}`)

    const noZero = deviceCgroupRules(spec(['deny a', 'deny c 1:5 rwm']))
    assert.equal(allowed(noZero, 'c 1:5 r'), false, 'the config denies /dev/zero after the defaults')
    assert.equal(allowed(noZero, 'c 1:3 rw'), true)

    const fuse = deviceCgroupRules(spec(['deny a'], {devices: [{path: '/dev/fuse', type: 'c', major: 10, minor: 229}]}))
    assert.equal(allowed(fuse, 'c 10:229 rw'), true, 'a linux.devices node is allowed')
  })

  it('merges and removes exceptions exactly as the v1 kernel keeps them', () => {
    const st = emulateRules(['deny a', 'allow c 1:3 r', 'allow c 1:* w', 'allow c 1:3 m', 'deny c 1:* w', 'allow b *:* rwm'].map(rule))
    assert.deepEqual(st, {defaultAllow: false, exceptions: [
      {type: DEV.char, major: 1, minor: 3, access: ACC.read | ACC.mknod},
      {type: DEV.block, major: ANY, minor: ANY, access: 7},
    ]})
  })

  it('refuses bad rules, naming the entry', () => {
    const bad = (r: LinuxDeviceCgroup, msg: RegExp) =>
      assert.throws(() => emulateRules([{allow: false}, r], {verb: 'create', id: 'c1'}), (e: unknown) => e instanceof InvalidInput && msg.test(e.message))
    bad({allow: true, type: 'x'}, /^create c1: linux\.resources\.devices\[1\]: type "x": must be a, b or c$/)
    bad({allow: true, type: 'c', access: 'rwx'}, /devices\[1\]: access "rwx": only r, w and m/)
    bad({allow: true, type: 'c', major: 1.5}, /devices\[1\]: major must be -1 or an integer/)
    bad({allow: true, type: 'c', minor: -2}, /devices\[1\]: minor must be/)
    bad({allow: true, type: 'b', major: 2 ** 32}, /major must be/)
    bad({allow: 'yes', type: 'c'} as unknown as LinuxDeviceCgroup, /devices\[1\]: allow must be true or false, got "yes"/)
    bad(null as unknown as LinuxDeviceCgroup, /devices\[1\]: must be an object$/)
    // a missing allow denies, as Go clients and the v1 driver read it
    assert.equal(allowed([{type: 'c', major: 1, minor: 5} as LinuxDeviceCgroup], 'c 1:5 r'), false)
  })

  it('a refused program\'s error names the container, the step, the errno and then the verifier log', () => {
    const ctx = {verb: 'create', id: 'c1'}
    const log = '0: R1=ctx() R10=fp0\n0: (95) exit\nR0 !read_ok'
    assert.equal(deviceFilterError(new BpfError('BPF_PROG_LOAD', 'EACCES', log), ctx, 'load the device program for /cg').message,
      `create c1: apply cgroup device rules: load the device program for /cg: BPF_PROG_LOAD failed: EACCES; verifier log:\n${log}`)
    assert.equal(deviceFilterError(new BpfError('BPF_PROG_ATTACH', 'EPERM'), ctx, 'attach the device program to /cg').message,
      'create c1: apply cgroup device rules: attach the device program to /cg: BPF_PROG_ATTACH failed: EPERM')
  })

  it('emits only the opcodes the interpreter knows, and ends every path with an exit', () => {
    const insns = deviceInstructions(emulateRules(['deny a', 'allow c 3000000000:1 rw', 'allow b *:* m'].map(rule)))
    const known = new Set<number>(Object.values(OP))
    for (const i of insns) assert.ok(known.has(i.code), `opcode 0x${i.code.toString(16)}`)
    assert.equal(insns[insns.length - 1].code, OP.EXIT)
  })

  it('the instructions decide what the state says, for random rule lists', () => {
    let seed = 12345
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]
    const nums = [-1, 0, 1, 3, 5, 136]
    const accesses = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm']
    for (let round = 0; round < 300; round++) {
      const rules: LinuxDeviceCgroup[] = []
      for (let k = rand(8); k > 0; k--) {
        const type = pick(['a', 'c', 'c', 'b'])
        rules.push({allow: rand(2) === 0, type, major: pick(nums), minor: pick(nums), access: pick(accesses)})
      }
      const state: DeviceState = emulateRules(rules)
      const prog = deviceProgram(state)
      for (const type of [DEV.block, DEV.char]) for (const major of [0, 1, 3, 136]) for (const minor of [0, 3, 5]) {
        for (let access = 1; access <= 7; access++) {
          const d = {type, major, minor, access}
          assert.equal(runDeviceProgram(prog, d) === 1, stateAllows(state, d), `${JSON.stringify(rules)} ${JSON.stringify(d)}`)
        }
      }
    }
  })
})

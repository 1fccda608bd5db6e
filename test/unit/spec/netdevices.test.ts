// linux.netDevices validation: names by the kernel's rules, existence on the host, clashes inside, and the
// network namespace it needs; each problem by its path.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {checkNetDevices, ifnameProblem, type NetDevicesContext} from '../../../src/core/spec/validate-netdev'

const NEW: NetDevicesContext = {netns: 'new', hostNetns: false, rootless: false}

function problems(devices: unknown, ctx: NetDevicesContext = NEW): string[] {
  const out: string[] = []
  checkNetDevices(devices, ctx, (p, m) => out.push(`${p}: ${m}`))
  return out
}

test('interface names: the kernel\'s dev_valid_name', () => {
  assert.equal(ifnameProblem('eth0'), undefined)
  assert.equal(ifnameProblem('a'.repeat(15)), undefined)
  assert.match(ifnameProblem('a'.repeat(16))!, /longer than 15 bytes/)
  assert.match(ifnameProblem('')!, /must not be empty/)
  assert.match(ifnameProblem('..')!, /not a valid interface name/)
  for (const bad of ['a/b', 'a:b', 'a b']) assert.match(ifnameProblem(bad)!, /contains/, bad)
})

test('netDevices: host existence, new names, clashes, the namespace', () => {
  // "lo" exists on every host; moving it is the kernel's to refuse, the checks here pass
  assert.deepEqual(problems({lo: {name: 'lo0'}}), [])
  assert.deepEqual(problems({}), [])
  assert.deepEqual(problems({'oc-nope-xyz': {}}), ['linux.netDevices["oc-nope-xyz"]: the host has no network device "oc-nope-xyz"'])
  assert.deepEqual(problems({lo: {}}), ['linux.netDevices["lo"]: the name "lo" inside the container is already taken by the loopback device of the new network namespace'])
  assert.deepEqual(problems({lo: {name: 'bad name'}}), ['linux.netDevices["lo"].name: "bad name" contains "/", ":" or white space'])
  assert.deepEqual(problems({lo: {name: 3}}), ['linux.netDevices["lo"].name: must be a string'])
  assert.deepEqual(problems({lo: 'x'}), ['linux.netDevices["lo"]: must be an object'])
  assert.deepEqual(problems({lo: {name: 'eth%d'}}), [], 'a template never clashes')
  assert.deepEqual(problems({lo: {}}, {netns: 'joined', hostNetns: false, rootless: false}), [], 'a joined namespace is checked at the move')
  assert.deepEqual(problems([]), ['linux.netDevices: must be an object (host interface name → {name})'])
  assert.deepEqual(problems({lo: {name: 'x'}}, {netns: 'none', hostNetns: false, rootless: true}), [
    'linux.netDevices: network devices can only be moved into a network namespace of the container\'s own: add {"type": "network"}',
    'linux.netDevices: a rootless container cannot move host network devices',
  ])
  assert.match(problems({lo: {name: 'x'}}, {netns: 'joined', hostNetns: true, rootless: false})[0], /network namespace of the container's own/)
})

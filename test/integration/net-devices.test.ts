// linux.netDevices (OCI 1.2) on real containers: a host interface (one end of a veth pair: this kernel has no
// dummy driver) moved into the container's network
// namespace under its new name, with its permanent global addresses and up; a "%d" template; after delete it
// stays with the namespace (the spec: MUST NOT move it out), so a new namespace takes a virtual device with it
// and a joined one keeps it; a failed create returns every device it had moved, with its addresses.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {containerBundle, runOut, waitFor} from '../helpers/containers'
import {cleanupFor} from '../helpers/cleanup'
import {PROBE} from '../helpers/paths'

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

const linkExists = (name: string, netns?: string) =>
  spawnSync('ip', [...(netns ? ['-n', netns] : []), 'link', 'show', name], {stdio: 'ignore'}).status === 0

/**
 * A virtual link on the host (a veth end, its peer NAME-p stays), with an IPv4 and an IPv6 address, removed by
 * the test's cleanup (the peer takes the moved end with it, wherever it is).
 */
function dummy(t: {after(fn: () => unknown): void}, name: string, v4: string, v6: string): void {
  const c = cleanupFor(t)
  c.veth(`${name}p`)
  c.veth(name)
  if (linkExists(`${name}p`)) ip('link', 'del', `${name}p`)
  if (linkExists(name)) ip('link', 'del', name)
  ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`)
  ip('addr', 'add', v4, 'dev', name)
  ip('-6', 'addr', 'add', v6, 'dev', name, 'nodad')
}

test('a host interface moves in under its new name, with its addresses, up; it goes with the container\'s namespace', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  dummy(t, 'oc-procx0', '10.213.7.2/24', 'fd00:7e57:ac::2/64')
  dummy(t, 'oc-procx1', '10.213.8.2/24', 'fd00:7e57:ad::2/64')
  const b = containerBundle(t, {
    process: {args: [PROBE, 'ifaddrs']},
    linux: {netDevices: {'oc-procx0': {name: 'ctr0'}, 'oc-procx1': {name: 'eth%d'}}},
  })
  const lines = (await runOut(b)).trim().split('\n')
  assert.ok(lines.includes('ctr0 up 10.213.7.2/24'), `renamed, up, IPv4 kept:\n${lines.join('\n')}`)
  assert.ok(lines.includes('ctr0 up fd00:7e57:ac::2/64'), 'IPv6 kept')
  assert.ok(lines.includes('eth0 up 10.213.8.2/24'), 'the template got the first free number')
  assert.ok(!lines.some((l) => l.startsWith('oc-procx')), 'no host name inside')
  // the container's namespace is gone with its last process: the kernel destroys a virtual device with it (and
  // a veth's peer on the host with it)
  await waitFor('the moved devices gone with the namespace', () => !linkExists('oc-procx0p') && !linkExists('oc-procx0') && !linkExists('oc-procx1p'))
})

test('a joined network namespace keeps the device after delete; a name taken there fails create and returns every moved device', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const ns = `oc-procx-${process.pid}`
  const c = cleanupFor(t)
  c.netns(ns)
  ip('netns', 'add', ns)
  ip('-n', ns, 'link', 'add', 'taken0', 'type', 'veth', 'peer', 'name', 'taken0p')
  dummy(t, 'oc-procx2', '10.213.9.2/24', 'fd00:7e57:ae::2/64')
  dummy(t, 'oc-procx3', '10.213.10.2/24', 'fd00:7e57:af::2/64')
  ip('link', 'set', 'oc-procx3', 'up')
  const joined = (s: {linux?: {namespaces?: {type: string; path?: string}[]}}) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => n.type === 'network' ? {type: 'network', path: `/run/netns/${ns}`} : n)
  }

  const bad = containerBundle(t, (s) => {
    joined(s)
    s.process!.args = [PROBE, 'true']
    s.linux!.netDevices = {'oc-procx3': {name: 'in3'}, 'oc-procx2': {name: 'taken0'}}
  })
  const r = await bad.ocirt(['create', '--bundle', bad.dir, bad.id])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /linux\.netDevices\[\\?"oc-procx2\\?"\]: a network device named \\?"taken0\\?" already exists in the container's network namespace/)
  assert.ok(!linkExists('in3', ns), 'the first device left the namespace again')
  const back = ip('addr', 'show', 'oc-procx3')
  assert.match(back, /inet 10\.213\.10\.2\/24/, 'back on the host with its IPv4 address')
  assert.match(back, /inet6 fd00:7e57:af::2\/64/, 'and its IPv6 address')
  assert.match(back, /<[^>]*\bUP\b/, 'and up, as it was')
  assert.ok(linkExists('oc-procx2'), 'the second never left')
  assert.equal((await bad.ocirt(['state', bad.id])).code, 1, 'no container left behind')

  const b = containerBundle(t, (s) => {
    joined(s)
    s.process!.args = [PROBE, 'ifaddrs']
    s.linux!.netDevices = {'oc-procx2': {}}
  })
  const lines = (await runOut(b)).trim().split('\n')
  assert.ok(lines.includes('oc-procx2 up 10.213.9.2/24'), `the host name is kept when no name is given:\n${lines.join('\n')}`)
  assertOk(await b.ocirt(['delete', '--force', b.id]), 'delete')
  assert.ok(linkExists('oc-procx2', ns), 'delete leaves the device in the joined namespace (the spec: MUST NOT move it out)')
  assert.ok(!linkExists('oc-procx2'), 'not back on the host')
})

test('a create that fails after the move (a failing prestart hook) returns the device to the host first', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  dummy(t, 'oc-procx4', '10.213.11.2/24', 'fd00:7e57:b0::2/64')
  const b = containerBundle(t, {
    process: {args: [PROBE, 'true']},
    linux: {netDevices: {'oc-procx4': {name: 'ctr4'}}},
    hooks: {prestart: [{path: '/bin/sh', args: ['sh', '-c', 'exit 3']}]},
  })
  const r = await b.ocirt(['create', '--bundle', b.dir, b.id])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /prestart hook/)
  assert.ok(linkExists('oc-procx4'), 'back on the host (a new namespace dying would have destroyed it)')
  assert.match(ip('addr', 'show', 'oc-procx4'), /inet 10\.213\.11\.2\/24/, 'with its address')
  assert.equal((await b.ocirt(['state', b.id])).code, 1, 'no container left behind')
})

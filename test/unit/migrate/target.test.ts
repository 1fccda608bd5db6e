// parseTarget: every form of `ocirt migrate --to X`, and one clear InvalidInput for each kind of junk.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import {parseTarget, sshTarget, type TargetSpec} from '../../../src/migrate/target'
import {InvalidInput} from '../../../src/core/errors'

const accepted: [string, TargetSpec][] = [
  ['node2', {kind: 'ssh', host: 'node2'}],
  ['node2.example.net', {kind: 'ssh', host: 'node2.example.net'}],
  ['node2.example.net.', {kind: 'ssh', host: 'node2.example.net.'}],
  ['node2:2222', {kind: 'ssh', host: 'node2', port: 2222}],
  ['root@node2', {kind: 'ssh', host: 'node2', user: 'root'}],
  ['mig_user@node2:22', {kind: 'ssh', host: 'node2', port: 22, user: 'mig_user'}],
  ['10.0.0.5', {kind: 'ssh', host: '10.0.0.5'}],
  ['10.0.0.5:65535', {kind: 'ssh', host: '10.0.0.5', port: 65535}],
  ['root@10.0.0.5:1', {kind: 'ssh', host: '10.0.0.5', port: 1, user: 'root'}],
  ['[2001:db8::1]:2222', {kind: 'ssh', host: '2001:db8::1', port: 2222}],
  ['root@[2001:db8::1]:2222', {kind: 'ssh', host: '2001:db8::1', port: 2222, user: 'root'}],
  ['[::1]', {kind: 'ssh', host: '::1'}],
  ['2001:db8::1', {kind: 'ssh', host: '2001:db8::1'}],
  ['::1', {kind: 'ssh', host: '::1'}],
  ['fe80::1', {kind: 'ssh', host: 'fe80::1'}],
  ['root@fe80::1', {kind: 'ssh', host: 'fe80::1', user: 'root'}],
  ['::ffff:10.0.0.5', {kind: 'ssh', host: '::ffff:10.0.0.5'}],
  ['ssh://node2', {kind: 'ssh', host: 'node2'}],
  ['ssh://root@node2:2222/', {kind: 'ssh', host: 'node2', port: 2222, user: 'root'}],
  ['ssh://[2001:db8::1]:22', {kind: 'ssh', host: '2001:db8::1', port: 22}],
  ['k8s', {kind: 'k8s'}],
  ['k8s:worker-2', {kind: 'k8s', node: 'worker-2'}],
  ['k8s:ip-10-0-0-5.eu-west-1.compute.internal', {kind: 'k8s', node: 'ip-10-0-0-5.eu-west-1.compute.internal'}],
  ['pool:gpu', {kind: 'plugin', scheme: 'pool', rest: 'gpu'}],
  ['pool:gpu:large', {kind: 'plugin', scheme: 'pool', rest: 'gpu:large'}],
  ['my-cloud:eu/west?size=xl', {kind: 'plugin', scheme: 'my-cloud', rest: 'eu/west?size=xl'}],
  ['fe80:x', {kind: 'plugin', scheme: 'fe80', rest: 'x'}],
  // user@ before the colon: never a scheme
  ['k8s@node2:22', {kind: 'ssh', host: 'node2', port: 22, user: 'k8s'}],
]

for (const [to, want] of accepted) {
  test(`parseTarget(${JSON.stringify(to)})`, () => {
    assert.deepEqual(parseTarget(to), want)
  })
}

const rejected: [string, RegExp][] = [
  ['', /no target given/],
  ['   ', /no target given/],
  [' node2', /no spaces/],
  ['node 2', /no spaces/],
  ['-oProxyCommand=touch /tmp/x', /no spaces|cannot start with "-"/],
  ['-oProxyCommand=x', /cannot start with "-"/],
  ['node2:', /no port after ":"/],
  ['node2:0', /port 0 is out of range/],
  ['node2:65536', /port 65536 is out of range/],
  ['node2:22x', /port "22x" is not a number/],
  ['node2:-1', /port "-1" is not a number/],
  ['root@node2:ssh', /port "ssh" is not a number/],
  [':22', /no host before ":"/],
  ['@node2', /empty user name/],
  ['ro;ot@node2', /"ro;ot" is not a valid user name/],
  ['root@', /no host/],
  ['root@-oProxy=x', /is not a host name/],
  ['node_2', /"node_2" is not a host name/],
  ['-node2', /cannot start with "-"/],
  ['node2-.example', /not a host name/],
  ['[2001:db8::1', /"\[" without "\]"/],
  ['[node2]:22', /"node2" is not an IPv6 address/],
  ['[::1]x', /unexpected "x" after "\]"/],
  ['[::1]:', /no port after ":"/],
  ['2001:db8::1:2222:zz', /not an IPv6 address/],
  ['ssh://2001:db8::1', /needs brackets/],
  ['ssh:node2', /write an ssh target as/],
  ['k8s:', /no node name after "k8s:"/],
  ['k8s:Worker_2', /"Worker_2" is not a Kubernetes node name/],
  ['Pool:gpu', /"Pool" is not a host name or IP address|port "gpu" is not a number/],
  ['pool:', /no port after ":"/],
]

for (const [to, want] of rejected) {
  test(`parseTarget(${JSON.stringify(to)}) is refused`, () => {
    assert.throws(() => parseTarget(to), (err: unknown) => {
      assert.ok(err instanceof InvalidInput, `${err}`)
      assert.match(err.message, want)
      // one line that names the flag and quotes what was given
      assert.ok(err.message.startsWith(`migrate: --to ${JSON.stringify(to)}: `), err.message)
      assert.ok(!err.message.includes('\n'))
      return true
    })
  })
}

test('parseTarget errors carry the container id and step when the caller gives them', () => {
  assert.throws(() => parseTarget('node2:0', {verb: 'migrate', id: 'c1', step: 'target'}), /^InvalidInput: migrate c1: target: --to "node2:0": port 0 is out of range/)
})

test('sshTarget: port 22 and the default user unless the spec names them', () => {
  assert.deepEqual(sshTarget({host: 'node2'}), {host: 'node2', port: 22, user: 'root', label: 'ssh root@node2:22'})
  assert.deepEqual(sshTarget({host: 'node2', port: 2222, user: 'mig'}, 'other'), {host: 'node2', port: 2222, user: 'mig', label: 'ssh mig@node2:2222'})
  assert.equal(sshTarget({host: '2001:db8::1'}, 'admin').label, 'ssh admin@[2001:db8::1]:22')
})

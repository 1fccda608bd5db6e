// judgeNodes: which Kubernetes nodes may receive a container, in which order, and the reason for each one
// that may not. Over the recorded NodeList (test/fixtures/k8s/nodes.json) and small hand-made nodes.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {judgeNodes, type V1NodeLike} from '../../../src/migrate/k8s/judge'
import {REPO} from '../../helpers/paths'

const FIXTURE = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'k8s', 'nodes.json'), 'utf8')) as {items: V1NodeLike[]}
const SELF = {selfNode: 'ocirt-self', selfAddresses: ['127.0.0.1', '::1']}
const ON = {'migrate.ocirt.dev/enabled': 'true'}

/** A Ready, labelled node with an InternalIP, changed by `over`. */
function node(name: string, over: {labels?: Record<string, string>; annotations?: Record<string, string>; spec?: V1NodeLike['spec']; conditions?: {type: string; status: string; reason?: string; message?: string}[]; addresses?: {type: string; address: string}[]} = {}): V1NodeLike {
  return {
    metadata: {name, labels: over.labels ?? ON, annotations: over.annotations ?? {}},
    spec: over.spec ?? {},
    status: {
      conditions: over.conditions ?? [{type: 'MemoryPressure', status: 'False'}, {type: 'Ready', status: 'True', reason: 'KubeletReady'}],
      addresses: over.addresses ?? [{type: 'InternalIP', address: '192.0.2.100'}, {type: 'Hostname', address: name}],
    },
  }
}

test('the recorded cluster: eligible nodes by priority then name, then the others by name, each with its reason', () => {
  const verdicts = judgeNodes(FIXTURE.items, SELF)
  assert.deepEqual(verdicts.map((v) => [v.node, v.eligible, v.priority, v.why]), [
    ['worker-annotated', true, 20, 'eligible'],
    ['worker-gpu', true, 5, 'eligible'],
    ['worker-public', true, 5, 'eligible'],
    ['worker-plain', true, 0, 'eligible'],
    ['cp-1', false, 0, 'tainted node-role.kubernetes.io/control-plane:NoSchedule'],
    ['ocirt-self', false, 0, 'it is this node (this machine is node "ocirt-self")'],
    ['worker-badport', false, 0, 'annotation migrate.ocirt.dev/ssh-port: "ssh" is not a port (1-65535)'],
    ['worker-cordoned', false, 40, 'cordoned (spec.unschedulable=true)'],
    ['worker-down', false, 50, 'NotReady (Ready=Unknown: NodeStatusUnknown: Kubelet stopped posting node status.)'],
    ['worker-unlabelled', false, 0, 'no label migrate.ocirt.dev/enabled=true'],
  ])
  assert.ok(verdicts.filter((v) => !v.eligible).every((v) => v.target === undefined))
})

test('targets: every annotation applied; InternalIP, then ExternalIP, as root on port 22 by default', () => {
  const byName = Object.fromEntries(judgeNodes(FIXTURE.items, SELF).map((v) => [v.node, v.target]))
  assert.deepEqual(byName['worker-annotated'], {
    host: 'worker-annotated.mig.example.net', port: 2222, user: 'migrator', nodeName: 'worker-annotated',
    label: 'k8s node worker-annotated (worker-annotated.mig.example.net:2222)',
    remoteOcirt: '/opt/ocirt/bin/ocirt', remoteRoot: '/run/ocirt-mig', remoteBundleDir: '/var/lib/ocirt/bundles',
  })
  assert.deepEqual(byName['worker-plain'], {host: '192.0.2.22', port: 22, user: 'root', nodeName: 'worker-plain', label: 'k8s node worker-plain (192.0.2.22:22)'})
  assert.deepEqual(byName['worker-public'], {host: '198.51.100.7', port: 22, user: 'root', nodeName: 'worker-public', label: 'k8s node worker-public (198.51.100.7:22)'})
})

test('wanted: only that node is judged; an unknown name says so', () => {
  assert.deepEqual(judgeNodes(FIXTURE.items, {...SELF, wanted: 'worker-plain'}).map((v) => [v.node, v.eligible]), [['worker-plain', true]])
  const [down] = judgeNodes(FIXTURE.items, {...SELF, wanted: 'worker-down'})
  assert.equal(down.eligible, false)
  assert.match(down.why, /^NotReady/)
  assert.deepEqual(judgeNodes(FIXTURE.items, {...SELF, wanted: 'worker-9'}), [
    {node: 'worker-9', eligible: false, why: 'unknown node: the cluster has no node named "worker-9"', priority: 0},
  ])
  assert.equal(judgeNodes([], {wanted: 'x'})[0].why, 'unknown node: the cluster has no node named "x"')
})

test('this node is recognised by name (any case) and by any of its addresses, ssh-host included', () => {
  assert.match(judgeNodes([node('Worker-1')], {selfNode: 'worker-1'})[0].why, /^it is this node \(this machine is node "worker-1"\)$/)
  const byIp = judgeNodes(FIXTURE.items, {selfNode: 'elsewhere', selfAddresses: ['192.0.2.22'], wanted: 'worker-plain'})[0]
  assert.equal(byIp.why, "it is this node (its address 192.0.2.22 is this machine's)")
  const byExternal = judgeNodes(FIXTURE.items, {selfAddresses: ['198.51.100.7'], wanted: 'worker-public'})[0]
  assert.equal(byExternal.eligible, false)
  const bySshHost = judgeNodes([node('w', {annotations: {'migrate.ocirt.dev/ssh-host': '2001:DB8::9'}})], {selfAddresses: ['2001:db8::9']})[0]
  assert.equal(bySshHost.why, "it is this node (its address 2001:DB8::9 is this machine's)")
  // with no self information at all, ocirt-self is just another node
  assert.equal(judgeNodes(FIXTURE.items, {wanted: 'ocirt-self'})[0].eligible, true)
})

test('readiness: a missing Ready condition, Ready=False with its reason', () => {
  assert.equal(judgeNodes([node('a', {conditions: [{type: 'MemoryPressure', status: 'False'}]})])[0].why, 'NotReady (no Ready condition)')
  const notReady = node('b', {conditions: [{type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready'}]})
  assert.equal(judgeNodes([notReady])[0].why, 'NotReady (Ready=False: KubeletNotReady: container runtime network not ready)')
})

test('labels: absent, or any value but "true"', () => {
  assert.equal(judgeNodes([node('a', {labels: {}})])[0].why, 'no label migrate.ocirt.dev/enabled=true')
  assert.equal(judgeNodes([node('a', {labels: {'migrate.ocirt.dev/enabled': 'false'}})])[0].why, 'label migrate.ocirt.dev/enabled is "false", not "true"')
})

test('taints: NoSchedule and NoExecute exclude unless tolerated; node.kubernetes.io/ ones never are; PreferNoSchedule is ignored', () => {
  const gpu = {key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule'}
  assert.equal(judgeNodes([node('a', {spec: {taints: [gpu]}})])[0].why, 'tainted nvidia.com/gpu=present:NoSchedule')
  assert.equal(judgeNodes([node('a', {spec: {taints: [gpu]}, annotations: {'migrate.ocirt.dev/tolerations': 'other, nvidia.com/gpu'}})])[0].eligible, true)
  assert.equal(judgeNodes([node('a', {spec: {taints: [{key: 'dedicated', value: 'db', effect: 'NoExecute'}]}})])[0].why, 'tainted dedicated=db:NoExecute')
  assert.equal(judgeNodes([node('a', {spec: {taints: [{key: 'spot', effect: 'PreferNoSchedule'}]}})])[0].eligible, true)
  const pressure = {key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule'}
  assert.equal(judgeNodes([node('a', {spec: {taints: [pressure]}, annotations: {'migrate.ocirt.dev/tolerations': 'node.kubernetes.io/memory-pressure'}})])[0].why,
    'tainted node.kubernetes.io/memory-pressure:NoSchedule')
  // a cordon's own taint is not reported twice
  const cordoned = node('a', {spec: {unschedulable: true, taints: [{key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule'}]}})
  assert.equal(judgeNodes([cordoned])[0].why, 'cordoned (spec.unschedulable=true)')
})

test('annotations: each malformed one is a reason; several reasons are all given', () => {
  const bad = node('a', {labels: {}, annotations: {
    'migrate.ocirt.dev/ssh-port': '70000',
    'migrate.ocirt.dev/ssh-user': 'root;rm',
    'migrate.ocirt.dev/ssh-host': '-oProxyCommand=x',
    'migrate.ocirt.dev/root': 'run/ocirt',
    'migrate.ocirt.dev/priority': 'high',
  }})
  assert.deepEqual(judgeNodes([bad])[0].why.split('; '), [
    'no label migrate.ocirt.dev/enabled=true',
    'annotation migrate.ocirt.dev/ssh-host: "-oProxyCommand=x" is not a host name or address',
    'annotation migrate.ocirt.dev/ssh-port: "70000" is not a port (1-65535)',
    'annotation migrate.ocirt.dev/ssh-user: "root;rm" is not a user name',
    'annotation migrate.ocirt.dev/root: "run/ocirt" is not an absolute path',
    'annotation migrate.ocirt.dev/priority: "high" is not an integer',
  ])
})

test('addresses: none to ssh to is a reason; an IPv6 one is bracketed in the label; negative priorities sort last', () => {
  assert.equal(judgeNodes([node('a', {addresses: [{type: 'Hostname', address: 'a'}]})])[0].why,
    'no address to ssh to (no migrate.ocirt.dev/ssh-host annotation, InternalIP or ExternalIP)')
  const v6 = judgeNodes([node('a', {addresses: [{type: 'InternalIP', address: '2001:db8::5'}]})])[0]
  assert.equal(v6.target?.label, 'k8s node a ([2001:db8::5]:22)')
  const order = judgeNodes([
    node('low', {annotations: {'migrate.ocirt.dev/priority': '-3'}}),
    node('b'),
    node('a'),
    node('top', {annotations: {'migrate.ocirt.dev/priority': '+7'}}),
  ])
  assert.deepEqual(order.map((v) => `${v.node}:${v.priority}`), ['top:7', 'a:0', 'b:0', 'low:-3'])
})

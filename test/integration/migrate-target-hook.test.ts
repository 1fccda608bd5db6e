// The oclif custom hook `migrate:target` for real: examples/ocirt-plugin-target is linked with `ocirt plugins
// link` into private XDG dirs (offline where unshare allows), oclif's Config is loaded for the repository as
// the migrate command gets it, and targetFromPlugins asks every plugin's hook. The example answers
// `--to pool:NAME` from the JSON file named by $OCIRT_TARGET_POOL and leaves ssh and k8s targets alone; a
// second, badly behaved plugin shows how failures and bad answers are reported, and which answer wins.
import {after, before, test} from 'node:test'
import * as assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type {Config as OclifConfig} from '@oclif/core'
import {ocirt, type OcirtResult} from '../helpers/ocirt'
import {OCIRT_BIN, REPO} from '../helpers/paths'
import {missing} from '../helpers/requires'
import {cleanupFor} from '../helpers/cleanup'
import {startFakeK8s} from '../helpers/fake-k8s'
import {parseTarget} from '../../src/migrate/target'
import {resolveTarget, targetFromPlugins, TargetHookFailed} from '../../src/migrate/target-hook'

const EXAMPLE = path.join(REPO, 'examples', 'ocirt-plugin-target')
const skip = missing('ocirt')
const OFFLINE = !skip && spawnSync('unshare', ['--net', 'true'], {stdio: 'ignore'}).status === 0

let tmp = ''
let env: Record<string, string | undefined> = {}
const savedEnv: Record<string, string | undefined> = {}
let poolFile = ''
const cleanup = cleanupFor(after)

before(() => {
  if (skip) return
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-target-hook-'))
  cleanup.dir(tmp)
  env = {
    XDG_DATA_HOME: path.join(tmp, 'data'),
    XDG_CONFIG_HOME: path.join(tmp, 'config'),
    XDG_CACHE_HOME: path.join(tmp, 'cache'),
    OCIRT_DATA_DIR: undefined,
  }
  // oclif's Config.load in this process reads the same private dirs as the ocirt children
  for (const [k, v] of Object.entries({...env, OCIRT_TARGET_POOL: undefined})) {
    savedEnv[k] = process.env[k]
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  poolFile = path.join(tmp, 'pools.json')
  fs.writeFileSync(poolFile, JSON.stringify({
    pools: {
      edge: {
        minFreeMemoryMiB: 1024,
        user: 'migrator',
        remoteRoot: '/run/ocirt-edge',
        hosts: [
          {host: '192.0.2.31', weight: 1, freeMemoryMiB: 6000},                         // score 6000
          {host: 'edge-b.example.net', port: 2222, weight: 2, freeMemoryMiB: 4000},     // score 8000: wins
          {host: 'edge-a.example.net', weight: 4, freeMemoryMiB: 1000},                 // below minFreeMemoryMiB
          {host: 'edge-c.example.net', weight: 10, freeMemoryMiB: 64000, drain: true},  // draining
        ],
      },
      tie: {hosts: [{host: 'tie-b', freeMemoryMiB: 100}, {host: 'tie-a', weight: 2, freeMemoryMiB: 50}, {host: '2001:db8::7', freeMemoryMiB: 10}]},
      drained: {hosts: [{host: 'd1', freeMemoryMiB: 10, drain: true}]},
    },
  }))
})

after(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

const out = (r: OcirtResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`

function run(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<OcirtResult> {
  const offline = OFFLINE && args[0] === 'plugins' && args[1] === 'link'
  const argv = offline ? ['--net', '--', OCIRT_BIN, ...args] : args
  return ocirt(argv, {timeoutMs: 60_000, env: {...env, ...extraEnv}, bin: offline ? 'unshare' : undefined})
}

async function loadConfig(): Promise<OclifConfig> {
  const {Config} = require('@oclif/core') as typeof import('@oclif/core')
  return Config.load(REPO)
}

async function ask(config: OclifConfig, to: string, id = 'c1') {
  return targetFromPlugins(config, {id, to, spec: parseTarget(to)})
}

/** Asserts a TargetHookFailed naming `plugin` whose message matches. */
async function hookFails(p: Promise<unknown>, plugin: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TargetHookFailed, `expected TargetHookFailed, got ${(err as Error)?.stack}`)
    assert.equal(err.plugin, plugin)
    assert.match(err.message, message)
    return true
  })
}

test('the example plugin links offline and is loaded from its manifest', {skip}, async (t) => {
  if (!OFFLINE) t.diagnostic('unshare --net is not available: linking ran with the network up')
  const link = await run(['plugins', 'link', '--no-install', EXAMPLE])
  assert.equal(link.code, 0, out(link))
  const list = await run(['plugins'], {DEBUG: 'oclif:config:*'})
  assert.equal(list.code, 0, out(list))
  assert.match(list.stdout, /ocirt-plugin-target 0\.1\.0 \(link\)/)
  assert.match(list.stderr, /oclif:config:ocirt-plugin-target using manifest from .*oclif\.manifest\.json/)
})

test('pool:NAME is answered by the plugin: weight x free memory, skipping drained and short hosts', {skip}, async () => {
  process.env.OCIRT_TARGET_POOL = poolFile
  const config = await loadConfig()
  const plugin = config.plugins.get('ocirt-plugin-target')
  assert.deepEqual(plugin?.hooks['migrate:target'], [{identifier: 'default', target: './hooks/target.js'}])
  assert.deepEqual(await ask(config, 'pool:edge'), {
    host: 'edge-b.example.net', port: 2222, user: 'migrator', remoteRoot: '/run/ocirt-edge',
    label: 'pool edge: edge-b.example.net (weight 2, 4000 MiB free)',
  })
  // equal scores (100 = 2 x 50): the host name that sorts first
  assert.deepEqual(await ask(config, 'pool:tie'), {host: 'tie-a', port: 22, user: 'root', label: 'pool tie: tie-a (weight 2, 50 MiB free)'})
})

test('ssh, k8s and other schemes are left alone: undefined', {skip}, async () => {
  process.env.OCIRT_TARGET_POOL = poolFile
  const config = await loadConfig()
  for (const to of ['node2', 'root@[2001:db8::1]:2222', 'k8s', 'k8s:worker-2', 'cloud:eu-west']) {
    assert.equal(await ask(config, to), undefined, to)
  }
})

test("the plugin's own errors come back naming the plugin", {skip}, async () => {
  const config = await loadConfig()
  delete process.env.OCIRT_TARGET_POOL
  await hookFails(ask(config, 'pool:edge'), 'ocirt-plugin-target',
    /^migrate c1: target: plugin ocirt-plugin-target 0\.1\.0 \(linked\): its migrate:target hook failed for --to "pool:edge": OCIRT_TARGET_POOL is not set/)
  process.env.OCIRT_TARGET_POOL = poolFile
  await hookFails(ask(config, 'pool:gpu'), 'ocirt-plugin-target', /no pool "gpu" \(pools: edge, tie, drained\)/)
  await hookFails(ask(config, 'pool:drained', 'web-1'), 'ocirt-plugin-target', /pool "drained" has no host to take web-1: d1 \(draining\)/)
  process.env.OCIRT_TARGET_POOL = path.join(tmp, 'no-such-pools.json')
  await hookFails(ask(config, 'pool:edge'), 'ocirt-plugin-target', /no-such-pools\.json: does not exist/)
})

test('resolveTarget: plugins first, then k8s or ssh; a scheme nobody answers lists the plugins that could', {skip}, async (t) => {
  process.env.OCIRT_TARGET_POOL = poolFile
  const config = await loadConfig()
  const pool = await resolveTarget(config, {id: 'c1', to: 'pool:edge'})
  assert.deepEqual(pool.from, {plugin: 'ocirt-plugin-target'})
  assert.equal(pool.target.host, 'edge-b.example.net')
  assert.deepEqual(pool.spec, {kind: 'plugin', scheme: 'pool', rest: 'edge'})
  assert.deepEqual(await resolveTarget(config, {id: 'c1', to: 'root@node2:2222'}), {
    spec: {kind: 'ssh', host: 'node2', port: 2222, user: 'root'}, from: 'ssh',
    target: {host: 'node2', port: 2222, user: 'root', label: 'ssh root@node2:2222'},
  })
  assert.equal((await resolveTarget(config, {id: 'c1', to: '[2001:db8::1]', sshUser: 'mig'})).target.label, 'ssh mig@[2001:db8::1]:22')
  const k8s = await startFakeK8s(t)
  const viaK8s = await resolveTarget(config, {id: 'c1', to: 'k8s', k8s: {kubeconfig: k8s.kubeconfig, selfNode: 'ocirt-self', selfAddresses: []}})
  assert.equal(viaK8s.from, 'k8s')
  assert.equal(viaK8s.target.nodeName, 'worker-annotated')
  assert.equal(viaK8s.verdicts?.length, k8s.nodes().items.length)
  await assert.rejects(resolveTarget(config, {id: 'c1', to: 'k8s:worker-down', k8s: {kubeconfig: k8s.kubeconfig}}), /^InvalidInput: migrate c1: k8s: node "worker-down" cannot take the container: NotReady/)
  await assert.rejects(resolveTarget(config, {id: 'c1', to: 'cloud:eu-west'}),
    /^InvalidInput: migrate c1: target: --to "cloud:eu-west": no plugin answers scheme "cloud" \(plugins with a migrate:target hook: ocirt-plugin-target\)$/)
  await assert.rejects(resolveTarget(undefined, {id: 'c1', to: 'pool:edge'}), /no plugin answers scheme "pool" \(plugins with a migrate:target hook: none\)/)
  await assert.rejects(resolveTarget(config, {id: 'c1', to: 'node2:0'}), /^InvalidInput: migrate c1: target: --to "node2:0": port 0 is out of range/)
})

test('through bin/ocirt: a plugin command gets the same answers from the real config, and reaches k8s', {skip}, async (t) => {
  // what the migrate command will do, from a command that oclif loads inside the real executable
  const probe = path.join(tmp, 'ocirt-plugin-probe')
  fs.mkdirSync(path.join(probe, 'commands'), {recursive: true})
  fs.writeFileSync(path.join(probe, 'package.json'), JSON.stringify({name: 'ocirt-plugin-probe', version: '1.0.0', oclif: {commands: './commands'}}))
  fs.writeFileSync(path.join(probe, 'commands', 'target-probe.js'), [
    'module.exports = class TargetProbe {',
    "  static summary = 'where would --to go'",
    "  static args = {to: {name: 'to', required: true}}",
    '  static flags = {}',
    '  static strict = false',
    '  static async run(argv, config) {',
    "    const m = (f) => require(config.root + '/dist/src/migrate/' + f)",
    '    const to = argv[0]',
    "    const spec = m('target').parseTarget(to)",
    "    const target = spec.kind === 'k8s'",
    "      ? (await m('k8s').pickK8sTarget({node: spec.node, kubeconfig: process.env.FAKE_KUBECONFIG, selfNode: 'ocirt-self', selfAddresses: []})).chosen.target",
    "      : await m('target-hook').targetFromPlugins(config, {id: 'c1', to, spec})",
    "    process.stdout.write(JSON.stringify(target ?? null) + '\\n')",
    '  }',
    '}',
  ].join('\n'))
  const link = await run(['plugins', 'link', '--no-install', probe])
  assert.equal(link.code, 0, out(link))
  t.after(() => run(['plugins', 'unlink', 'ocirt-plugin-probe']))

  const k8s = await startFakeK8s(t)
  const probeEnv = {OCIRT_TARGET_POOL: poolFile, FAKE_KUBECONFIG: k8s.kubeconfig}
  const pool = await run(['target-probe', 'pool:edge'], probeEnv)
  assert.equal(pool.code, 0, out(pool))
  assert.equal(pool.json().host, 'edge-b.example.net')
  const ssh = await run(['target-probe', 'root@node2'], probeEnv)
  assert.equal(ssh.code, 0, out(ssh))
  assert.equal(ssh.json(), null)
  const node = await run(['target-probe', 'k8s:worker-plain'], probeEnv)
  assert.equal(node.code, 0, out(node))
  assert.deepEqual(node.json(), {host: '192.0.2.22', port: 22, user: 'root', nodeName: 'worker-plain', label: 'k8s node worker-plain (192.0.2.22:22)'})
  assert.deepEqual(k8s.requests.map((r) => r.path), ['/api/v1/nodes/worker-plain'])
})

test('another plugin: its failure and its unusable answer name it; of two answers the first by plugin name wins', {skip}, async () => {
  const other = path.join(tmp, 'ocirt-plugin-zz-other')
  fs.mkdirSync(path.join(other, 'hooks'), {recursive: true})
  fs.writeFileSync(path.join(other, 'package.json'), JSON.stringify({
    name: 'ocirt-plugin-zz-other', version: '2.0.0', oclif: {hooks: {'migrate:target': './hooks/target.js'}},
  }))
  fs.writeFileSync(path.join(other, 'oclif.manifest.json'), JSON.stringify({commands: {}, version: '2.0.0'}))
  fs.writeFileSync(path.join(other, 'hooks', 'target.js'), [
    'module.exports = async function ({spec}) {',
    "  if (spec.kind !== 'plugin') return undefined",
    "  if (spec.scheme === 'boom') throw new Error('inventory service unreachable')",
    "  if (spec.scheme === 'junk') return {host: 'h1', port: 0}",
    "  if (spec.scheme === 'relpath') return {host: 'h1', remoteRoot: 'run/ocirt'}",
    "  if (spec.scheme === 'zz') return {host: '2001:db8::9'}",
    "  if (spec.scheme === 'pool') return {host: 'from-zz', label: 'zz'}",
    '  return null',
    '}',
  ].join('\n'))
  const link = await run(['plugins', 'link', '--no-install', other])
  assert.equal(link.code, 0, out(link))

  process.env.OCIRT_TARGET_POOL = poolFile
  const config = await loadConfig()
  assert.ok(config.plugins.has('ocirt-plugin-zz-other'))
  await hookFails(ask(config, 'boom:x'), 'ocirt-plugin-zz-other',
    /^migrate c1: target: plugin ocirt-plugin-zz-other 2\.0\.0 \(linked\): its migrate:target hook failed for --to "boom:x": inventory service unreachable$/)
  await hookFails(ask(config, 'junk:x'), 'ocirt-plugin-zz-other', /answered --to "junk:x" with an unusable target: port must be an integer 1-65535, got 0/)
  await hookFails(ask(config, 'relpath:x'), 'ocirt-plugin-zz-other', /unusable target: remoteRoot must be an absolute path, got "run\/ocirt"/)
  // port, user and label get their defaults
  assert.deepEqual(await ask(config, 'zz:x'), {host: '2001:db8::9', port: 22, user: 'root', label: 'ocirt-plugin-zz-other (zz:x): [2001:db8::9]:22'})
  // both answer pool:edge: ocirt-plugin-target sorts first
  assert.equal((await ask(config, 'pool:edge'))?.host, 'edge-b.example.net')

  const unlink = await run(['plugins', 'unlink', 'ocirt-plugin-target'])
  assert.equal(unlink.code, 0, out(unlink))
  assert.equal((await ask(await loadConfig(), 'pool:edge'))?.host, 'from-zz', 'with the example gone, the other plugin answers')
  const unlinkOther = await run(['plugins', 'unlink', 'ocirt-plugin-zz-other'])
  assert.equal(unlinkOther.code, 0, out(unlinkOther))
  assert.equal(await ask(await loadConfig(), 'pool:edge'), undefined, 'no plugin: nobody answers')
})

// `--to k8s[:node]` against a Kubernetes API server stand-in (test/helpers/fake-k8s.ts: real HTTPS with its own
// CA on 127.0.0.1, bearer tokens, recorded responses): which node is picked, why each other one is not, and
// what the user reads when the credentials, the server or the configuration are wrong. Every call goes through
// @kubernetes/client-node 1.x as the migrate command will, loaded lazily by src/migrate/k8s/client.ts; the
// last tests load it from compiled CommonJS in another working directory and from an esbuild bundle.
import {test, type TestContext} from 'node:test'
import * as assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {pickK8sTarget, NoEligibleNode, type K8sOptions} from '../../src/migrate/k8s'
import {InvalidInput, OcirtError, StepFailed} from '../../src/core/errors'
import {startFakeK8s, type FakeK8s} from '../helpers/fake-k8s'
import {cleanupFor} from '../helpers/cleanup'
import {REPO} from '../helpers/paths'

/** Options that pin everything the machine would otherwise supply (env, hostname, addresses). */
function opts(k8s: FakeK8s, over: K8sOptions = {}): K8sOptions {
  return {kubeconfig: k8s.kubeconfig, selfNode: 'ocirt-self', selfAddresses: ['127.0.0.1'], env: {HOME: k8s.dir}, id: 'c1', ...over}
}

/** Asserts the call fails with this class and message, and returns the error. */
async function rejects<T extends OcirtError>(p: Promise<unknown>, cls: new (...a: any[]) => T, message: RegExp): Promise<T> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error)?.stack}`)
    assert.match((err as Error).message, message)
    return err as T
  }
  assert.fail(`expected ${cls.name} matching ${message}`)
}

test('k8s: the highest-priority eligible node, with its annotations, from one authenticated GET /api/v1/nodes', async (t) => {
  const k8s = await startFakeK8s(t)
  const {chosen, verdicts} = await pickK8sTarget(opts(k8s))
  assert.equal(chosen.node, 'worker-annotated')
  assert.deepEqual(chosen.target, {
    host: 'worker-annotated.mig.example.net', port: 2222, user: 'migrator', nodeName: 'worker-annotated',
    label: 'k8s node worker-annotated (worker-annotated.mig.example.net:2222)',
    remoteOcirt: '/opt/ocirt/bin/ocirt', remoteRoot: '/run/ocirt-mig', remoteBundleDir: '/var/lib/ocirt/bundles',
  })
  assert.deepEqual(verdicts.filter((v) => v.eligible).map((v) => v.node), ['worker-annotated', 'worker-gpu', 'worker-public', 'worker-plain'])
  assert.equal(verdicts.length, k8s.nodes().items.length)
  assert.deepEqual(k8s.requests.map((r) => [r.method, r.path, r.authorization, r.status]), [['GET', '/api/v1/nodes', `Bearer ${k8s.token}`, 200]])
})

test('k8s:<node> reads that one node and returns its target', async (t) => {
  const k8s = await startFakeK8s(t)
  const {chosen} = await pickK8sTarget(opts(k8s, {node: 'worker-plain'}))
  assert.deepEqual(chosen.target, {host: '192.0.2.22', port: 22, user: 'root', nodeName: 'worker-plain', label: 'k8s node worker-plain (192.0.2.22:22)'})
  const public_ = await pickK8sTarget(opts(k8s, {node: 'worker-public'}))
  assert.equal(public_.chosen.target?.host, '198.51.100.7', 'no InternalIP: the ExternalIP')
  assert.deepEqual(k8s.requests.map((r) => `${r.path} ${r.status}`), ['/api/v1/nodes/worker-plain 200', '/api/v1/nodes/worker-public 200'])
})

test('k8s:<node> that cannot take the container says exactly why', async (t) => {
  const k8s = await startFakeK8s(t)
  const cases: [string, RegExp][] = [
    ['worker-down', /node "worker-down" cannot take the container: NotReady \(Ready=Unknown: NodeStatusUnknown: Kubelet stopped posting node status\.\)/],
    ['worker-cordoned', /node "worker-cordoned" cannot take the container: cordoned \(spec\.unschedulable=true\)/],
    ['worker-unlabelled', /node "worker-unlabelled" cannot take the container: no label migrate\.ocirt\.dev\/enabled=true/],
    ['ocirt-self', /node "ocirt-self" cannot take the container: it is this node \(this machine is node "ocirt-self"\)/],
    ['cp-1', /node "cp-1" cannot take the container: tainted node-role\.kubernetes\.io\/control-plane:NoSchedule/],
    ['worker-badport', /node "worker-badport" cannot take the container: annotation migrate\.ocirt\.dev\/ssh-port: "ssh" is not a port/],
    ['worker-9', /node "worker-9" cannot take the container: unknown node: the cluster has no node named "worker-9"/],
  ]
  for (const [node, message] of cases) {
    const err = await rejects(pickK8sTarget(opts(k8s, {node})), InvalidInput, message)
    assert.match(err.message, /^migrate c1: k8s: /)
    assert.ok(err.message.includes(`(${k8s.server}, --kubeconfig ${k8s.kubeconfig}, context fake)`), err.message)
  }
  assert.deepEqual(k8s.requests.at(-1), {method: 'GET', path: '/api/v1/nodes/worker-9', query: {}, authorization: `Bearer ${k8s.token}`, status: 404})
  // this node is also recognised by its address
  await rejects(pickK8sTarget(opts(k8s, {node: 'worker-plain', selfNode: 'elsewhere', selfAddresses: ['192.0.2.22']})), InvalidInput,
    /it is this node \(its address 192\.0\.2\.22 is this machine's\)/)
})

test('no eligible node: the error lists every node with its reason', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-k8s-fixture-'))
  cleanupFor(t).dir(dir)
  const all = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'k8s', 'nodes.json'), 'utf8'))
  const eligible = new Set(['worker-annotated', 'worker-gpu', 'worker-public', 'worker-plain'])
  const fixture = path.join(dir, 'nodes.json')
  fs.writeFileSync(fixture, JSON.stringify({...all, items: all.items.filter((n: any) => !eligible.has(n.metadata.name))}))
  const k8s = await startFakeK8s(t, {fixture})
  const err = await rejects(pickK8sTarget(opts(k8s)), NoEligibleNode, /^migrate c1: k8s: no Kubernetes node can take the container \(https:\/\/127\.0\.0\.1:\d+, --kubeconfig .*, context fake\):\n/)
  assert.deepEqual(err.message.split('\n').slice(1), [
    '  cp-1: tainted node-role.kubernetes.io/control-plane:NoSchedule',
    '  ocirt-self: it is this node (this machine is node "ocirt-self")',
    '  worker-badport: annotation migrate.ocirt.dev/ssh-port: "ssh" is not a port (1-65535)',
    '  worker-cordoned: cordoned (spec.unschedulable=true)',
    '  worker-down: NotReady (Ready=Unknown: NodeStatusUnknown: Kubelet stopped posting node status.)',
    '  worker-unlabelled: no label migrate.ocirt.dev/enabled=true',
  ])
  assert.equal(err.verdicts.length, 6)
})

test('a token the server refuses: the 401 is named with the server and the credentials used', async (t) => {
  const k8s = await startFakeK8s(t)
  const bad = k8s.writeKubeconfig('kubeconfig-bad-token', 'not-the-token')
  const err = await rejects(pickK8sTarget(opts(k8s, {kubeconfig: bad})), StepFailed,
    /^migrate c1: k8s: Kubernetes API https:\/\/127\.0\.0\.1:\d+ \(--kubeconfig .*kubeconfig-bad-token, context fake\): GET \/api\/v1\/nodes: HTTP 401 Unauthorized \(the server refused these credentials/)
  assert.ok(!err.message.includes('not-the-token'), 'the token itself is never printed')
  assert.deepEqual(k8s.requests.map((r) => [r.authorization, r.status]), [['Bearer not-the-token', 401]])
  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: bad, node: 'worker-plain'})), StepFailed, /GET \/api\/v1\/nodes\/worker-plain: HTTP 401 Unauthorized/)
})

test('a server that is down, or does not answer in time: a clear error naming it', async (t) => {
  const k8s = await startFakeK8s(t)
  k8s.delayMs = 3000
  await rejects(pickK8sTarget(opts(k8s, {timeoutMs: 200})), StepFailed, /Kubernetes API https:\/\/127\.0\.0\.1:\d+ .*: GET \/api\/v1\/nodes: no answer within 0\.2 s/)
  k8s.delayMs = 0
  await k8s.close()
  await rejects(pickK8sTarget(opts(k8s)), StepFailed,
    new RegExp(`^migrate c1: k8s: cannot reach the Kubernetes API server ${k8s.server.replace(/\./g, '\\.')} \\(--kubeconfig .*\\): GET /api/v1/nodes: .*ECONNREFUSED`))
})

test('a server whose certificate is not signed by the configured CA is refused', async (t) => {
  const k8s = await startFakeK8s(t)
  const other = await startFakeK8s(t) // another CA
  const text = fs.readFileSync(k8s.kubeconfig, 'utf8').replace(k8s.caFile, other.caFile)
  const file = path.join(k8s.dir, 'kubeconfig-wrong-ca')
  fs.writeFileSync(file, text)
  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: file})), StepFailed, /cannot reach the Kubernetes API server .*: GET \/api\/v1\/nodes: .*(certificate|self.signed|signature)/i)
  assert.deepEqual(k8s.requests, [], 'nothing reached the server: the TLS handshake failed')
})

test('in-cluster: KUBERNETES_SERVICE_HOST/PORT and the service account token and CA', async (t) => {
  const k8s = await startFakeK8s(t)
  const sa = k8s.writeServiceAccount('serviceaccount', k8s.token)
  const env = {HOME: k8s.dir, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(k8s.port)}
  const {chosen} = await pickK8sTarget(opts(k8s, {kubeconfig: undefined, env, serviceAccountDir: sa}))
  assert.equal(chosen.node, 'worker-annotated')
  assert.deepEqual(k8s.requests.map((r) => [r.path, r.authorization]), [['/api/v1/nodes', `Bearer ${k8s.token}`]])

  const stale = k8s.writeServiceAccount('serviceaccount-stale', 'expired-token')
  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: undefined, env, serviceAccountDir: stale})), StepFailed,
    new RegExp(`Kubernetes API https://127\\.0\\.0\\.1:${k8s.port} \\(in-cluster service account \\(KUBERNETES_SERVICE_HOST=127\\.0\\.0\\.1, .*serviceaccount-stale\\)\\): GET /api/v1/nodes: HTTP 401`))
  const empty = path.join(k8s.dir, 'no-serviceaccount')
  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: undefined, env, serviceAccountDir: empty})), InvalidInput,
    new RegExp(`in-cluster service account .*: cannot read ${empty}/token: ENOENT`))
  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: undefined, env: {...env, KUBERNETES_SERVICE_PORT: undefined}, serviceAccountDir: sa})), InvalidInput,
    /KUBERNETES_SERVICE_PORT is not set/)
})

test('configuration sources: KUBECONFIG (merged), ~/.kube/config, --context; each error names what it tried', async (t) => {
  const k8s = await startFakeK8s(t)
  const other = k8s.writeKubeconfig('kubeconfig-other', 'wrong-token', 'other')
  // KUBECONFIG with two files: merged, the first file's current-context wins; --context picks the other
  const viaEnv = await pickK8sTarget(opts(k8s, {kubeconfig: undefined, env: {HOME: k8s.dir, KUBECONFIG: `${k8s.kubeconfig}:${other}`}}))
  assert.equal(viaEnv.chosen.node, 'worker-annotated')
  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: undefined, context: 'other', env: {HOME: k8s.dir, KUBECONFIG: `${k8s.kubeconfig}:${other}`}})), StepFailed,
    /\(KUBECONFIG=.*kubeconfig:.*kubeconfig-other, context other\): GET \/api\/v1\/nodes: HTTP 401/)
  await rejects(pickK8sTarget(opts(k8s, {context: 'prod'})), InvalidInput, /--kubeconfig .*kubeconfig: no context "prod" \(contexts: fake\)/)

  // ~/.kube/config under HOME
  const home = path.join(k8s.dir, 'home')
  fs.mkdirSync(path.join(home, '.kube'), {recursive: true})
  fs.copyFileSync(k8s.kubeconfig, path.join(home, '.kube', 'config'))
  const viaHome = await pickK8sTarget(opts(k8s, {kubeconfig: undefined, env: {HOME: home}}))
  assert.equal(viaHome.chosen.node, 'worker-annotated')

  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: path.join(k8s.dir, 'missing')})), InvalidInput, /--kubeconfig .*\/missing: does not exist/)
  const junk = path.join(k8s.dir, 'junk')
  fs.writeFileSync(junk, 'clusters: [\n')
  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: junk})), InvalidInput, /--kubeconfig .*\/junk: cannot be read: /)
  const nothing = path.join(k8s.dir, 'empty-home')
  await rejects(pickK8sTarget(opts(k8s, {kubeconfig: undefined, env: {HOME: nothing}})), InvalidInput,
    new RegExp(`no Kubernetes configuration found; tried --kubeconfig \\(not given\\), KUBECONFIG \\(not set\\), ${nothing}/\\.kube/config \\(does not exist\\), in-cluster \\(KUBERNETES_SERVICE_HOST is not set\\)`))
  assert.equal(k8s.requests.filter((r) => r.status === 200).length, 2)
})

/**
 * Picks a target over the fake server in a child node process that loads `moduleFile`, and returns its answer.
 * Asynchronous on purpose: the fake server answers from this process's event loop.
 */
async function pickInChild(t: TestContext, k8s: FakeK8s, moduleFile: string, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{node?: string; error?: string}> {
  const script = `
    const {pickK8sTarget} = require(${JSON.stringify(moduleFile)})
    pickK8sTarget({kubeconfig: ${JSON.stringify(k8s.kubeconfig)}, selfNode: 'ocirt-self', selfAddresses: []})
      .then((r) => process.stdout.write(JSON.stringify({node: r.chosen.node})), (e) => process.stdout.write(JSON.stringify({error: e.stack})))`
  const child = spawn(process.execPath, ['-e', script], {cwd, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  cleanupFor(t).pid(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.equal(code, 0, stderr)
  return JSON.parse(stdout)
}

test('compiled CommonJS loads the ESM-only client with a real import(), from any working directory', async (t) => {
  const k8s = await startFakeK8s(t)
  const compiled = path.join(REPO, 'dist', 'src', 'migrate', 'k8s', 'index.js')
  const text = fs.readFileSync(path.join(REPO, 'dist', 'src', 'migrate', 'k8s', 'client.js'), 'utf8')
  assert.match(text, /return import\(url\)/, 'tsc kept the import()')
  assert.doesNotMatch(text, /require\("@kubernetes\/client-node"\)/)
  const result = await pickInChild(t, k8s, compiled, '/')
  assert.deepEqual(result, {node: 'worker-annotated'})
})

test('bundled as scripts/bundle.mjs bundles and started by its loader (vm.Script, code cache), the import() still works', async (t) => {
  const k8s = await startFakeK8s(t)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-k8s-bundle-'))
  cleanupFor(t).dir(dir)
  const entry = path.join(dir, 'entry.ts')
  fs.writeFileSync(entry, [
    `import {pickK8sTarget} from ${JSON.stringify(path.join(REPO, 'src', 'migrate', 'k8s'))}`,
    "pickK8sTarget({kubeconfig: process.env.FAKE_KUBECONFIG, selfNode: 'ocirt-self', selfAddresses: []})",
    '  .then((r) => process.stdout.write(JSON.stringify({node: r.chosen.node})), (e) => process.stdout.write(JSON.stringify({error: e.stack})))',
  ].join('\n'))
  const {buildSync} = require('esbuild') as typeof import('esbuild')
  buildSync({
    entryPoints: [entry], outfile: path.join(dir, 'ocirt-main.js'), bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    minify: true, logLevel: 'silent', external: ['@oclif/*', 'koffi', 'ssh2', 'tar-fs', '@kubernetes/client-node'],
    ...bundleWrap(),
  })
  const text = fs.readFileSync(path.join(dir, 'ocirt-main.js'), 'utf8')
  assert.match(text, /import\(/)
  assert.doesNotMatch(text, /require\("@kubernetes\/client-node"\)/)
  fs.copyFileSync(path.join(REPO, 'scripts', 'ocirt-loader.js'), path.join(dir, 'ocirt.js'))
  // outside the repository the package is found through NODE_PATH, as an installed ocirt finds its node_modules
  const run = async (file: string) => {
    const child = spawn(process.execPath, [file], {cwd: '/', env: {...process.env, NODE_PATH: path.join(REPO, 'node_modules'), FAKE_KUBECONFIG: k8s.kubeconfig}, stdio: ['ignore', 'pipe', 'pipe']})
    cleanupFor(t).pid(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 0, stderr)
    assert.equal(stderr, '', 'no warnings either')
    return JSON.parse(stdout)
  }
  assert.deepEqual(await run(path.join(dir, 'ocirt.js')), {node: 'worker-annotated'}, 'through the loader, as bin/ocirt starts the bundle')
  assert.deepEqual(await run(path.join(dir, 'ocirt-main.js')), {node: 'worker-annotated'}, 'the bundle run directly')
  assert.equal(k8s.requests.length, 2)
})

/** scripts/bundle.mjs's banner and footer (the bundle written as a CommonJS module function). */
function bundleWrap(): {banner: {js: string}; footer: {js: string}} {
  const wrap = require(path.join(REPO, 'scripts', 'bundle-wrap.cjs')) as {banner: string; footer: string}
  return {banner: {js: wrap.banner}, footer: {js: wrap.footer}}
}

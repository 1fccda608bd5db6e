// A stand-in for a Kubernetes API server (there is none on these machines, MACHINE.md): HTTPS on 127.0.0.1 at a
// random port, with a CA and server certificate made by `openssl` in a temp dir at test time. It answers as
// the API server does, from recorded responses in test/fixtures/k8s/nodes.json:
//   GET /api/v1/nodes[?labelSelector=k=v,k,!k]   the NodeList (equality selectors only)
//   GET /api/v1/nodes/<name>                       one Node (with kind/apiVersion), or a 404 Status
// Every request needs `Authorization: Bearer <token>` (else a 401 Status, as the API server answers), and is
// recorded. It also writes the files a client needs: a kubeconfig naming the CA, and a service account dir.
//
//   const k8s = await startFakeK8s(t)        // stopped and its dir removed in t.after, also on failure
//   await pickK8sTarget({kubeconfig: k8s.kubeconfig, ...})
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as https from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import {randomBytes} from 'node:crypto'
import {cleanupFor, type AfterHost} from './cleanup'
import {REPO} from './paths'

export const K8S_FIXTURES = path.join(REPO, 'test', 'fixtures', 'k8s')

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  authorization?: string
  status: number
}

export interface FakeK8s {
  /** https://127.0.0.1:PORT */
  server: string
  port: number
  dir: string
  caFile: string
  /** the bearer token the server accepts */
  token: string
  /** a kubeconfig for this server with the right token (context "fake") */
  kubeconfig: string
  requests: RecordedRequest[]
  /** answers wait this long first (to test client timeouts) */
  delayMs: number
  /** another kubeconfig for this server, with this token (and optionally another context name) */
  writeKubeconfig(name: string, token: string, context?: string): string
  /** a service account dir (token, ca.crt, namespace) as the kubelet mounts it in a pod */
  writeServiceAccount(name: string, token: string): string
  /** the NodeList as served */
  nodes(): NodeListFixture
  close(): Promise<void>
}

export interface NodeListFixture {
  kind: 'NodeList'
  apiVersion: 'v1'
  metadata: {resourceVersion: string}
  items: {metadata: {name: string; labels?: Record<string, string>}; [k: string]: unknown}[]
}

export async function startFakeK8s(t: AfterHost, opts: {fixture?: string} = {}): Promise<FakeK8s> {
  const cleanup = cleanupFor(t)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-fake-k8s-'))
  cleanup.dir(dir)
  const {caFile, keyFile, certFile} = makeCertificates(dir)
  const list = JSON.parse(fs.readFileSync(opts.fixture ?? path.join(K8S_FIXTURES, 'nodes.json'), 'utf8')) as NodeListFixture
  const token = randomBytes(24).toString('base64url')
  const requests: RecordedRequest[] = []

  const fake = {delayMs: 0} as FakeK8s
  const delayed = new Set<NodeJS.Timeout>()
  const srv = https.createServer({key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile)}, (req, res) => {
    const answer = () => handle(req, res, list, token, requests)
    if (fake.delayMs <= 0) return answer()
    const timer = setTimeout(() => {
      delayed.delete(timer)
      answer()
    }, fake.delayMs)
    delayed.add(timer)
  })
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (srv.address() as AddressInfo).port
  const server = `https://127.0.0.1:${port}`
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    for (const timer of delayed) clearTimeout(timer)
    srv.closeAllConnections()
    await new Promise<void>((resolve) => srv.close(() => resolve()))
  }
  cleanup.add(`fake k8s ${server}`, close)

  const writeKubeconfig = (name: string, tok: string, context = 'fake') => {
    const file = path.join(dir, name)
    fs.writeFileSync(file, kubeconfigYaml(server, caFile, tok, context))
    return file
  }
  const writeServiceAccount = (name: string, tok: string) => {
    const sa = path.join(dir, name)
    fs.mkdirSync(sa, {recursive: true})
    fs.writeFileSync(path.join(sa, 'token'), tok) // no newline, as the kubelet writes it
    fs.copyFileSync(caFile, path.join(sa, 'ca.crt'))
    fs.writeFileSync(path.join(sa, 'namespace'), 'default')
    return sa
  }
  return Object.assign(fake, {
    server, port, dir, caFile, token, requests, close, writeKubeconfig, writeServiceAccount,
    kubeconfig: writeKubeconfig('kubeconfig', token),
    nodes: () => list,
  })
}

function handle(req: IncomingMessage, res: ServerResponse, list: NodeListFixture, token: string, requests: RecordedRequest[]): void {
  const url = new URL(req.url ?? '/', 'https://fake')
  const record: RecordedRequest = {
    method: req.method ?? '',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    authorization: req.headers.authorization,
    status: 0,
  }
  requests.push(record)
  const send = (status: number, body: unknown) => {
    record.status = status
    res.writeHead(status, {'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Audit-Id': randomBytes(16).toString('hex')})
    res.end(JSON.stringify(body))
  }
  if (req.headers.authorization !== `Bearer ${token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'))
  if (req.method !== 'GET') return send(405, status(405, 'MethodNotAllowed', `${req.method} is not supported by this fake`))

  if (url.pathname === '/api/v1/nodes') {
    const selector = url.searchParams.get('labelSelector')
    const items = selector ? list.items.filter((n) => matches(n.metadata.labels ?? {}, selector)) : list.items
    return send(200, {...list, items})
  }
  const one = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname)
  if (one) {
    const name = decodeURIComponent(one[1])
    const node = list.items.find((n) => n.metadata.name === name)
    if (!node) return send(404, {...status(404, 'NotFound', `nodes "${name}" not found`), details: {name, kind: 'nodes'}})
    return send(200, {kind: 'Node', apiVersion: 'v1', ...node})
  }
  return send(404, status(404, 'NotFound', 'the server could not find the requested resource'))
}

/** A meta/v1 Status, the API server's error body. */
function status(code: number, reason: string, message: string) {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code}
}

/** Equality-based label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, joined by commas. */
function matches(labels: Record<string, string>, selector: string): boolean {
  return selector.split(',').every((term) => {
    const t = term.trim()
    let m: RegExpExecArray | null
    if ((m = /^([^!=]+)!=(.*)$/.exec(t))) return labels[m[1]] !== m[2]
    if ((m = /^([^!=]+)==?(.*)$/.exec(t))) return labels[m[1]] === m[2]
    if (t.startsWith('!')) return !(t.slice(1) in labels)
    return t in labels
  })
}

function kubeconfigYaml(server: string, caFile: string, token: string, context: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${context}-cluster`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${caFile}`,
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${context}-cluster`,
    `    user: ${context}-admin`,
    `current-context: ${context}`,
    'preferences: {}',
    'users:',
    `- name: ${context}-admin`,
    '  user:',
    `    token: ${token}`,
    '',
  ].join('\n')
}

/** A throwaway CA and a server certificate for 127.0.0.1 signed by it (EC P-256: quick to make). */
function makeCertificates(dir: string): {caFile: string; keyFile: string; certFile: string} {
  const f = (name: string) => path.join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, {stdio: ['ignore', 'ignore', 'pipe']})
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=fake-k8s-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  openssl('req', ...ec, '-keyout', f('apiserver.key'), '-out', f('apiserver.csr'), '-subj', '/CN=kube-apiserver')
  fs.writeFileSync(f('apiserver.ext'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
    '',
  ].join('\n'))
  openssl('x509', '-req', '-in', f('apiserver.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('apiserver.crt'), '-days', '2', '-extfile', f('apiserver.ext'))
  return {caFile: f('ca.crt'), keyFile: f('apiserver.key'), certFile: f('apiserver.crt')}
}

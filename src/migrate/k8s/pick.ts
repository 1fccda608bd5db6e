// `--to k8s[:node]`: ask the API server for the nodes, judge them (judge.ts), return the chosen target.
//   k8s         GET /api/v1/nodes          the best eligible node; none eligible: each node with its reason
//   k8s:<node>  GET /api/v1/nodes/<node>   that node, or exactly why it cannot be the target
import * as os from 'node:os'
import {InvalidInput, OcirtError, StepFailed, type ErrorContext} from '../../core/errors'
import {loadK8sClient, type K8sModule} from './client'
import {judgeNodes, type NodeVerdict, type V1NodeLike} from './judge'
import {loadKubeConfig, type LoadedKubeConfig} from './kubeconfig'
import type {K8sOptions} from './options'
import type {ConfigurationOptions, RequestContext, ResponseContext} from '@kubernetes/client-node'

export interface K8sPick {
  chosen: NodeVerdict
  verdicts: NodeVerdict[]
}

const DEFAULT_TIMEOUT_MS = 15_000

/** No node can take the container; `verdicts` holds each node's reason. */
export class NoEligibleNode extends OcirtError {
  readonly verdicts: NodeVerdict[]
  constructor(detail: string, verdicts: NodeVerdict[], ctx: ErrorContext) {
    super(detail, ctx)
    this.name = 'NoEligibleNode'
    this.verdicts = verdicts
  }
}

export async function pickK8sTarget(opts: K8sOptions): Promise<K8sPick> {
  const ctx: ErrorContext = {verb: 'migrate', id: opts.id, step: 'k8s'}
  const env = opts.env ?? process.env
  const k8s = await loadK8sClient()
  const conf = loadKubeConfig(k8s, opts, ctx)
  const api = conf.kc.makeApiClient(k8s.CoreV1Api)
  const judge = {
    selfNode: opts.selfNode ?? env.NODE_NAME ?? os.hostname(),
    selfAddresses: opts.selfAddresses ?? localAddresses(),
    wanted: opts.node,
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS

  if (opts.node !== undefined) {
    const name = opts.node
    let nodes: V1NodeLike[] = []
    try {
      nodes = [await withTimeout(k8s, timeoutMs, (options) => api.readNode({name}, options))]
    } catch (err) {
      if (statusOf(err) !== 404) throw apiError(err, k8s, conf, `GET /api/v1/nodes/${name}`, timeoutMs, ctx)
    }
    const [verdict] = judgeNodes(nodes, judge)
    if (!verdict.eligible) throw new InvalidInput(`node "${name}" cannot take the container: ${verdict.why} (${conf.server}, ${conf.source})`, ctx)
    return {chosen: verdict, verdicts: [verdict]}
  }

  let items: V1NodeLike[]
  try {
    items = (await withTimeout(k8s, timeoutMs, (options) => api.listNode({}, options))).items
  } catch (err) {
    throw apiError(err, k8s, conf, 'GET /api/v1/nodes', timeoutMs, ctx)
  }
  const verdicts = judgeNodes(items, judge)
  if (verdicts.length === 0) throw new NoEligibleNode(`the cluster has no nodes (${conf.server}, ${conf.source})`, verdicts, ctx)
  if (!verdicts[0].eligible) {
    const lines = verdicts.map((v) => `  ${v.node}: ${v.why}`)
    throw new NoEligibleNode(`no Kubernetes node can take the container (${conf.server}, ${conf.source}):\n${lines.join('\n')}`, verdicts, ctx)
  }
  return {chosen: verdicts[0], verdicts}
}

/** Every address of this machine's interfaces: a node owning one of them is this machine. */
function localAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.replace(/%.*$/, '')))
}

/**
 * Runs one API call with an abort signal that fires after `ms`: the request is cancelled, not left behind.
 * The object-style API takes per-call middleware in its Observable form (the package's own small Observable).
 */
async function withTimeout<T>(k8s: K8sModule, ms: number, call: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), ms)
  const options: ConfigurationOptions = {
    middleware: [{
      pre: (c: RequestContext) => {
        c.setSignal(abort.signal)
        return new k8s.Observable(Promise.resolve(c))
      },
      post: (c: ResponseContext) => new k8s.Observable(Promise.resolve(c)),
    }],
    middlewareMergeStrategy: 'append',
  }
  try {
    return await call(options)
  } finally {
    clearTimeout(timer)
  }
}

function statusOf(err: unknown): number | undefined {
  const code = (err as {code?: unknown})?.code
  return typeof code === 'number' ? code : undefined
}

/** One line that says which server, which credentials, which request, and what went wrong. */
function apiError(err: unknown, k8s: K8sModule, conf: LoadedKubeConfig, request: string, timeoutMs: number, ctx: ErrorContext): OcirtError {
  if (err instanceof OcirtError) return err
  const where = `${conf.server} (${conf.source})`
  const status = statusOf(err)
  if (err instanceof k8s.ApiException || status !== undefined) {
    const body = parseBody((err as {body?: unknown}).body)
    // the client keeps no body for a 401, only its own "Message:" line
    const said = /^Message: (.*)$/m.exec((err as Error).message)?.[1]
    const parts = [body?.reason, body?.message ?? (said === 'Unknown API Status Code!' ? undefined : said)].filter((p, i, all) => p && all.indexOf(p) === i)
    const hint = status === 401 ? ' (the server refused these credentials: check the token or client certificate)'
      : status === 403 ? ' (these credentials may not get or list nodes: RBAC)' : ''
    return new StepFailed(`Kubernetes API ${where}: ${request}: HTTP ${status}${parts.length ? ` ${parts.join(': ')}` : ''}${hint}`, ctx, {cause: err})
  }
  const e = err as Error & {code?: string; type?: string; errno?: string}
  if (e?.name === 'AbortError' || e?.type === 'aborted') {
    return new StepFailed(`Kubernetes API ${where}: ${request}: no answer within ${timeoutMs / 1000} s`, ctx, {cause: err})
  }
  const detail = (e?.message ?? String(err)).replace(/^request to \S+ failed, reason: /, '')
  const tls = /CERT|SIGNATURE|ALTNAME/.test(e?.code ?? '') || /certificate/i.test(detail) ? ' (TLS: check the cluster\'s certificate-authority and the server name)' : ''
  return new StepFailed(`cannot reach the Kubernetes API server ${where}: ${request}: ${detail}${tls}`, ctx, {cause: err})
}

function parseBody(body: unknown): {reason?: string; message?: string} | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body)
    } catch {
      return body.trim() ? {message: body.trim().slice(0, 200)} : undefined
    }
  }
  return body && typeof body === 'object' ? (body as {reason?: string; message?: string}) : undefined
}

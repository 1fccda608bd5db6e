// Where the Kubernetes API server and credentials come from, tried in this order, the first present wins:
//   1. --kubeconfig FILE     2. KUBECONFIG (files joined by ":", merged as kubectl does)
//   3. ~/.kube/config        4. in-cluster: KUBERNETES_SERVICE_HOST/PORT + the service account token and CA
// Every error names the source it came from; when none is present, the error lists what was tried.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type {KubeConfig} from '@kubernetes/client-node'
import {InvalidInput, type ErrorContext} from '../../core/errors'
import type {K8sModule} from './client'
import type {K8sOptions} from './options'

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

export interface LoadedKubeConfig {
  kc: KubeConfig
  /** e.g. "kubeconfig /root/.kube/config, context prod", "KUBECONFIG=/a:/b, context x" or "in-cluster service account (...)" */
  source: string
  /** the API server's URL */
  server: string
}

export function loadKubeConfig(k8s: K8sModule, opts: K8sOptions, ctx: ErrorContext): LoadedKubeConfig {
  const env = opts.env ?? process.env
  const fail = (detail: string): never => {
    throw new InvalidInput(detail, ctx)
  }

  let files: string[] | undefined
  let from = ''
  if (opts.kubeconfig) {
    files = [opts.kubeconfig]
    from = '--kubeconfig '
  } else if (env.KUBECONFIG) {
    files = env.KUBECONFIG.split(path.delimiter).filter(Boolean)
    from = 'KUBECONFIG='
  } else {
    const home = env.HOME || os.homedir()
    const dflt = path.join(home, '.kube', 'config')
    if (fs.existsSync(dflt)) {
      files = [dflt]
      from = 'kubeconfig '
    }
  }

  if (files) {
    const kc = new k8s.KubeConfig()
    files.forEach((file, i) => {
      const what = `${from}${files!.length > 1 ? `${files!.join(path.delimiter)}: ${file}` : file}`
      let one = kc
      if (i > 0) one = new k8s.KubeConfig()
      try {
        one.loadFromFile(file)
      } catch (err) {
        const e = err as NodeJS.ErrnoException
        fail(`${what}: ${e.code === 'ENOENT' ? 'does not exist' : `cannot be read: ${firstLine(e.message)}`}`)
      }
      if (i > 0) mergeFirstWins(kc, one)
    })
    const where = `${from}${files.join(path.delimiter)}`
    if (opts.context) {
      const names = kc.getContexts().map((c) => c.name)
      if (!names.includes(opts.context)) fail(`${where}: no context "${opts.context}" (contexts: ${names.join(', ') || 'none'})`)
      kc.setCurrentContext(opts.context)
    }
    const current = kc.getCurrentContext()
    if (!current) fail(`${where}: no current-context (pass --context)`)
    if (!kc.getContextObject(current)) fail(`${where}: current context "${current}" is not defined`)
    const cluster = kc.getCurrentCluster()
    if (!cluster) fail(`${where}: context "${current}" names no defined cluster`)
    return {kc, source: `${where}, context ${current}`, server: cluster!.server}
  }

  const host = env.KUBERNETES_SERVICE_HOST
  const tried = [
    `--kubeconfig (not given)`,
    `KUBECONFIG (not set)`,
    `${path.join(env.HOME || os.homedir(), '.kube', 'config')} (does not exist)`,
  ]
  if (!host) fail(`no Kubernetes configuration found; tried ${[...tried, 'in-cluster (KUBERNETES_SERVICE_HOST is not set)'].join(', ')}`)
  return inCluster(k8s, host!, env.KUBERNETES_SERVICE_PORT, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, fail)
}

function inCluster(k8s: K8sModule, host: string, port: string | undefined, saDir: string, fail: (d: string) => never): LoadedKubeConfig {
  const what = `in-cluster service account (KUBERNETES_SERVICE_HOST=${host}, ${saDir})`
  if (!port) fail(`${what}: KUBERNETES_SERVICE_PORT is not set`)
  if (!/^\d+$/.test(port!) || Number(port) < 1 || Number(port) > 65535) fail(`${what}: KUBERNETES_SERVICE_PORT "${port}" is not a port`)
  const tokenFile = path.join(saDir, 'token')
  const caFile = path.join(saDir, 'ca.crt')
  for (const file of [tokenFile, caFile]) {
    try {
      if (fs.readFileSync(file).length === 0) fail(`${what}: ${file} is empty`)
    } catch (err) {
      if (err instanceof InvalidInput) throw err
      const e = err as NodeJS.ErrnoException
      fail(`${what}: cannot read ${file}: ${e.code ?? e.message}`)
    }
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`
  const kc = new k8s.KubeConfig()
  // the token is read through the tokenFile auth provider, which re-reads it as the kubelet rotates it
  kc.loadFromClusterAndUser(
    {name: 'in-cluster', server, caFile, skipTLSVerify: false},
    {name: 'in-cluster', authProvider: {name: 'tokenFile', config: {tokenFile}}},
  )
  return {kc, source: what, server}
}

/** kubectl's merge of KUBECONFIG files: the first file to name a cluster, user or context (or current-context) wins. */
function mergeFirstWins(into: KubeConfig, from: KubeConfig): void {
  if (!into.getCurrentContext() && from.getCurrentContext()) into.setCurrentContext(from.getCurrentContext())
  for (const c of from.getClusters()) if (!into.getCluster(c.name)) into.addCluster(c)
  for (const u of from.getUsers()) if (!into.getUser(u.name)) into.addUser(u)
  for (const c of from.getContexts()) if (!into.getContextObject(c.name)) into.addContext(c)
}

function firstLine(text: string): string {
  return text.split('\n')[0]
}

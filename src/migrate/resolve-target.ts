// --to → where to connect: plugins first (an oclif `migrate:target` hook may answer any form), then the built-in
// forms: [user@]host[:port] and Kubernetes (k8s, k8s:<node>).
import type {Config} from '@oclif/core'
import * as os from 'node:os'
import {InvalidInput} from '../core/errors'
import {parseTarget, type ResolvedTarget} from './target'
import {targetFromPlugins} from './target-hook'

export interface ResolveOptions {
  id: string
  to: string
  kubeconfig?: string
  context?: string
  config?: Config
}

export async function resolveTarget(o: ResolveOptions): Promise<{target: ResolvedTarget; notes: string[]}> {
  const spec = parseTarget(o.to)
  if (o.config) {
    const fromPlugin = await targetFromPlugins(o.config, {id: o.id, to: o.to, spec})
    if (fromPlugin) return {target: fromPlugin, notes: [`target chosen by a plugin: ${fromPlugin.label}`]}
  }
  if (spec.kind === 'ssh') {
    const user = spec.user ?? os.userInfo().username
    const port = spec.port ?? 22
    return {target: {host: spec.host, port, user, label: `${user}@${spec.host}:${port}`}, notes: []}
  }
  if (spec.kind === 'k8s') {
    const {pickK8sTarget} = await import('./k8s')
    const {chosen, verdicts} = await pickK8sTarget({node: spec.node, kubeconfig: o.kubeconfig, context: o.context})
    const others = verdicts.filter((v) => v.node !== chosen.node).map((v) => `${v.node}: ${v.why}`)
    return {target: chosen.target!, notes: [`k8s node ${chosen.node} (${chosen.why})`, ...(others.length ? [`other nodes: ${others.join('; ')}`] : [])]}
  }
  throw new InvalidInput(`no plugin knows the target ${JSON.stringify(o.to)} (scheme ${spec.scheme}:)`, {verb: 'migrate', id: o.id, step: 'resolve target'})
}

// The oclif custom hook `migrate:target`: a plugin may choose where `ocirt migrate --to X` goes. A plugin
// declares it in its package.json, `"oclif": {"hooks": {"migrate:target": "./hooks/target.js"}}`; the hook gets
// {id, to, spec} (and oclif's config) and returns a ResolvedTarget, or undefined to let others answer.
// examples/ocirt-plugin-target is a whole plugin; docs/migrate-targets.md describes the contract.
//
// oclif runs every plugin's hook concurrently, so "first" is defined here, not by completion order: answers
// are ranked as oclif ranks plugins (core, then user-installed, then linked), then by plugin name.
import type {Config, Hook} from '@oclif/core'
import {InvalidInput, OcirtError, type ErrorContext} from '../core/errors'
import {DEFAULT_SSH_PORT, hostPort, parseTarget, sshTarget, type ResolvedTarget, type TargetSpec} from './target'
import {pickK8sTarget, type K8sOptions, type NodeVerdict} from './k8s'

export const TARGET_HOOK = 'migrate:target'

export interface TargetHookOptions {
  /** the container being migrated */
  id: string
  /** --to as the user wrote it */
  to: string
  /** --to parsed (parseTarget) */
  spec: TargetSpec
}

/** The shape of a plugin's hook function (for plugin authors writing TypeScript). */
export type TargetHook = (this: Hook.Context, opts: TargetHookOptions & {config: Config}) => Promise<ResolvedTarget | undefined | null>

/** A plugin's hook failed or answered nonsense. */
export class TargetHookFailed extends OcirtError {
  readonly plugin: string
  constructor(detail: string, plugin: string, ctx: ErrorContext, options?: {cause?: unknown}) {
    super(detail, ctx, options)
    this.name = 'TargetHookFailed'
    this.plugin = plugin
  }
}

const DEFAULT_TIMEOUT_MS = 30_000
const TYPE_RANK: Record<string, number> = {core: 0, user: 1, link: 2}

/** runs every plugin's migrate:target hook; the first ResolvedTarget returned wins; plugin errors become a clear error naming the plugin */
export async function targetFromPlugins(config: Config, opts: TargetHookOptions, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ResolvedTarget | undefined> {
  return (await targetFromPluginsWithName(config, opts, timeoutMs))?.target
}

async function targetFromPluginsWithName(config: Config, opts: TargetHookOptions, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{target: ResolvedTarget; plugin: string} | undefined> {
  const ctx: ErrorContext = {verb: 'migrate', id: opts.id, step: 'target'}
  const result = await config.runHook(TARGET_HOOK, {id: opts.id, to: opts.to, spec: opts.spec}, timeoutMs, true)

  const named = (p: {name: string; version?: string; type?: string}) => `plugin ${p.name}${p.version ? ` ${p.version}` : ''}${p.type === 'link' ? ' (linked)' : ''}`
  const failures = [...result.failures].sort((a, b) => rank(a.plugin, b.plugin))
  if (failures.length > 0) {
    const {plugin, error} = failures[0]
    const why = error instanceof Error ? error.message : String(error)
    const more = failures.length > 1 ? ` (and ${failures.slice(1).map((f) => f.plugin.name).join(', ')})` : ''
    throw new TargetHookFailed(`${named(plugin)}: its ${TARGET_HOOK} hook failed for --to ${JSON.stringify(opts.to)}: ${why}${more}`, plugin.name, ctx, {cause: error})
  }

  const answers = result.successes.filter((s) => s.result !== undefined && s.result !== null).sort((a, b) => rank(a.plugin, b.plugin))
  if (answers.length === 0) return undefined
  const {plugin, result: answer} = answers[0]
  try {
    return {target: checkTarget(answer, `${plugin.name} (${opts.to})`), plugin: plugin.name}
  } catch (err) {
    const why = err instanceof OcirtError ? err.message : String(err)
    throw new TargetHookFailed(`${named(plugin)}: its ${TARGET_HOOK} hook answered --to ${JSON.stringify(opts.to)} with an unusable target: ${why}`, plugin.name, ctx)
  }
}

function rank(a: {name: string; type: string}, b: {name: string; type: string}): number {
  const ra = TYPE_RANK[a.type] ?? 3
  const rb = TYPE_RANK[b.type] ?? 3
  if (ra !== rb) return ra - rb
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

/** A plugin's answer, checked field by field; port and user get their defaults, label one naming the plugin. */
export function checkTarget(value: unknown, labelDefault: string): ResolvedTarget {
  const bad = (why: string): never => {
    throw new InvalidInput(why)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`expected an object {host, port?, user?, label?, ...}, got ${JSON.stringify(value)}`)
  const v = value as Record<string, unknown>
  const str = (key: string, required: boolean): string | undefined => {
    const x = v[key]
    if (x === undefined && !required) return undefined
    if (typeof x !== 'string' || x.trim() === '') bad(`${key} must be a non-empty string, got ${JSON.stringify(x)}`)
    return x as string
  }
  const host = str('host', true)!.replace(/^\[(.*)\]$/, '$1')
  if (/[\s/@]/.test(host) || host.startsWith('-')) bad(`host ${JSON.stringify(host)} is not a host name or address`)
  let port = DEFAULT_SSH_PORT
  if (v.port !== undefined) {
    if (!Number.isInteger(v.port) || (v.port as number) < 1 || (v.port as number) > 65535) bad(`port must be an integer 1-65535, got ${JSON.stringify(v.port)}`)
    port = v.port as number
  }
  const user = str('user', false) ?? 'root'
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(user)) bad(`user ${JSON.stringify(user)} is not a user name`)
  const target: ResolvedTarget = {host, port, user, label: str('label', false) ?? `${labelDefault}: ${hostPort(host, port)}`}
  for (const key of ['remoteOcirt', 'remoteRoot', 'remoteBundleDir'] as const) {
    const path = str(key, false)
    if (path === undefined) continue
    if (!path.startsWith('/')) bad(`${key} must be an absolute path, got ${JSON.stringify(path)}`)
    target[key] = path
  }
  const node = str('nodeName', false)
  if (node !== undefined) target.nodeName = node
  return target
}

export interface TargetResolution {
  spec: TargetSpec
  target: ResolvedTarget
  /** who chose it: a plugin (by name), the Kubernetes node choice, or --to itself */
  from: {plugin: string} | 'k8s' | 'ssh'
  /** for k8s: every node's verdict */
  verdicts?: NodeVerdict[]
}

/**
 * The whole of `--to`: parse it, ask the plugins first (any plugin may answer any target), then choose a
 * Kubernetes node for k8s, or take the ssh target as written. A plugin scheme that no plugin answers is an
 * error that lists the plugins that have the hook. `config` is oclif's (the migrate command's this.config);
 * without it no plugin is asked.
 */
export async function resolveTarget(config: Config | undefined, opts: {id: string; to: string; k8s?: Omit<K8sOptions, 'node' | 'id'>; sshUser?: string}): Promise<TargetResolution> {
  const ctx: ErrorContext = {verb: 'migrate', id: opts.id, step: 'target'}
  const spec = parseTarget(opts.to, ctx)
  if (config) {
    const answered = await targetFromPluginsWithName(config, {id: opts.id, to: opts.to, spec})
    if (answered) return {spec, target: answered.target, from: {plugin: answered.plugin}}
  }
  if (spec.kind === 'k8s') {
    const {chosen, verdicts} = await pickK8sTarget({...opts.k8s, node: spec.node, id: opts.id})
    return {spec, target: chosen.target!, from: 'k8s', verdicts}
  }
  if (spec.kind === 'ssh') return {spec, target: sshTarget(spec, opts.sshUser), from: 'ssh'}
  const hooked = config ? [...config.plugins.values()].filter((p) => (p.hooks?.[TARGET_HOOK] ?? []).length > 0).map((p) => p.name).sort() : []
  throw new InvalidInput(`--to ${JSON.stringify(opts.to)}: no plugin answers scheme "${spec.scheme}" (plugins with a ${TARGET_HOOK} hook: ${hooked.join(', ') || 'none'})`, ctx)
}


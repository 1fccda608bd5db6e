// Loading a bundle: the bundle directory (real path), its config.json (parsed, with the error position
// when malformed) and the rootfs (absolute, refused when reached through a symlink, as runc does).
// Checking what the config asks for is validate.ts's job.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {InvalidInput} from '../errors'
import type {Spec} from './types'

export interface LoadedBundle {
  spec: Spec
  /** absolute real path of the bundle directory */
  bundle: string
  /** absolute path of the container's root filesystem */
  rootfs: string
}

export const CONFIG_FILE = 'config.json'

type Ctx = {verb: string; id: string}

export function loadBundleSpec(bundleArg: string, ctx: Ctx): LoadedBundle {
  const bundle = openBundle(bundleArg, ctx)
  const spec = readConfig(path.join(bundle, CONFIG_FILE), ctx)
  const rootfs = resolveRootfs(bundle, spec, ctx)
  return {spec, bundle, rootfs}
}

function openBundle(arg: string, ctx: Ctx): string {
  const step = {...ctx, step: 'open bundle'}
  const abs = path.resolve(arg || '.')
  let real: string
  try {
    real = fs.realpathSync(abs)
  } catch (err) {
    throw new InvalidInput(`bundle ${abs} ${describeFsError(err)}`, step)
  }
  if (!isDirectory(real)) throw new InvalidInput(`bundle ${abs} is not a directory`, step)
  return real
}

function readConfig(file: string, ctx: Ctx): Spec {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    const detail = errCode(err) === 'ENOENT' ? `${file} not found` : `${file} ${describeFsError(err)}`
    throw new InvalidInput(detail, {...ctx, step: `read ${CONFIG_FILE}`})
  }
  const step = {...ctx, step: `parse ${CONFIG_FILE}`}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new InvalidInput(`${file}: ${jsonErrorText(text, (err as Error).message)}`, step)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInput(`${file}: must hold a JSON object, not ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`, step)
  }
  return value as Spec
}

function resolveRootfs(bundle: string, spec: Spec, ctx: Ctx): string {
  const step = {...ctx, step: 'check rootfs'}
  const root = spec.root as unknown
  if (root === undefined || root === null) throw new InvalidInput('root: must be specified', step)
  if (typeof root !== 'object' || Array.isArray(root)) throw new InvalidInput('root: must be an object', step)
  const p = (root as {path?: unknown}).path
  if (typeof p !== 'string' || p === '') throw new InvalidInput('root.path: must be a non-empty path', step)
  const rootfs = path.resolve(bundle, p)
  let real: string
  try {
    real = fs.realpathSync(rootfs)
  } catch (err) {
    throw new InvalidInput(`root.path: rootfs ${rootfs} ${describeFsError(err)}`, step)
  }
  if (!isDirectory(real)) throw new InvalidInput(`root.path: rootfs ${rootfs} is not a directory`, step)
  // runc refuses a rootfs whose path goes through a symlink: the path it validated would not be the one
  // the container gets if the link changed in between.
  if (real !== rootfs) {
    throw new InvalidInput(`root.path: rootfs ${rootfs} is a symlink or lies under one (it resolves to ${real}); give the real path`, step)
  }
  return rootfs
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

function errCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException)?.code
  return typeof code === 'string' ? code : undefined
}

function describeFsError(err: unknown): string {
  switch (errCode(err)) {
    case 'ENOENT': return 'does not exist'
    case 'ENOTDIR': return 'does not exist (a parent is not a directory)'
    case 'EACCES': return 'is not accessible'
    case 'ELOOP': return 'has too many levels of symbolic links'
    default: return `cannot be read: ${(err as Error)?.message ?? String(err)}`
  }
}

/** V8's JSON.parse message with the position turned into line and column (1-based), as editors count. */
export function jsonErrorText(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message)
  const pos = m ? Number(m[1]) : /end of JSON input/.test(message) ? text.length : undefined
  const reason = message.replace(/\s*at position \d+.*$/, '').replace(/\s+in JSON$/, '')
    .replace(/^Unexpected end of JSON input$/, 'unexpected end of input')
  if (pos === undefined) return `invalid JSON: ${reason}`
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  const column = pos - before.lastIndexOf('\n')
  return `invalid JSON at line ${line}, column ${column}: ${reason}`
}

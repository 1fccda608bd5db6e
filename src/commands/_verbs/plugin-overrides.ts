// Whether a user-installed or linked oclif plugin defines a command named like a built-in verb; if so the
// plugin's command wins and the call goes through oclif (runPluginCommand). Costs one existsSync when no
// plugin is installed. Reads what @oclif/plugin-plugins 5.x writes: <dataDir>/package.json, `oclif.plugins`
// = [{type: 'user', name} (in <dataDir>/node_modules) | {type: 'link', name, root}].
import * as fs from 'node:fs'
import * as path from 'node:path'

export interface PluginCommand {
  /** the plugin's package root */
  root: string
  /** the command id (the verb) */
  id: string
}

interface PluginEntry {
  name?: string
  type?: string
  root?: string
}

/** oclif's Config.dataDir for bin "ocirt": $OCIRT_DATA_DIR, else $XDG_DATA_HOME/ocirt, else ~/.local/share/ocirt.
 * scripts/ocirt-loader.js applies the same rule (it cannot load this module) to route `migrate`. */
export function pluginDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OCIRT_DATA_DIR) return env.OCIRT_DATA_DIR
  const base = env.XDG_DATA_HOME || path.join(env.HOME || (require('node:os') as typeof import('node:os')).homedir(), '.local', 'share')
  return path.join(base, 'ocirt')
}

/** Package roots of the installed plugins, in oclif's load order (user plugins, then links). */
export function pluginRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const file = path.join(pluginDataDir(env), 'package.json')
  // every fast-door verb asks, and almost always there is no file: a failed readFileSync builds an error with a
  // stack (the process's first one ~0.7 ms), existsSync does not
  if (!fs.existsSync(file)) return []
  const dir = path.dirname(file)
  let entries: PluginEntry[]
  try {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
    entries = (pkg?.oclif?.plugins ?? []).filter((p: unknown) => p && typeof p === 'object')
  } catch {
    return []
  }
  const user = entries.filter((p) => p.type === 'user' && p.name).map((p) => path.join(dir, 'node_modules', p.name!))
  const link = entries.filter((p) => p.type === 'link' && p.root).map((p) => p.root!)
  return [...user, ...link]
}

/** The plugin command that takes over `verb`, if any. */
export function pluginOverride(verb: string, env: NodeJS.ProcessEnv = process.env): PluginCommand | undefined {
  const root = pluginRoots(env).find((r) => definesCommand(r, verb))
  return root ? {root, id: verb} : undefined
}

export function pluginOverrides(verb: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return pluginOverride(verb, env) !== undefined
}

/** From the plugin's oclif.manifest.json (id or alias); without one (a linked plugin in development), from
 * its commands directory, as oclif itself would scan it. */
function definesCommand(root: string, verb: string): boolean {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'))
    const commands: Record<string, {aliases?: string[]}> = manifest.commands ?? {}
    return Object.hasOwn(commands, verb) || Object.values(commands).some((c) => c.aliases?.includes(verb))
  } catch {
    // no (readable) manifest: fall through to the commands directory
  }
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
    const c = pkg?.oclif?.commands
    const dir = typeof c === 'string' ? c : c?.strategy === 'pattern' ? c.target : undefined
    if (!dir) return false
    const base = path.join(root, dir)
    return ['.js', '.cjs', '.mjs', '/index.js'].some((ext) => fs.existsSync(base + '/' + verb + ext))
  } catch {
    return false
  }
}

/** Runs a plugin's command through oclif. oclif itself would pick the built-in: its determinePriority lets
 * a core (root) command win over user and linked plugins, so the plugin's command is handed over explicitly.
 * Returns false when oclif does not know the plugin (then the caller falls back to plain oclif). */
export async function runPluginCommand(cmd: PluginCommand, argv: string[], cliFile: string): Promise<boolean> {
  const {Config, flush, handle} = require('@oclif/core') as typeof import('@oclif/core')
  let config: import('@oclif/core').Config
  try {
    config = await Config.load(cliFile)
  } catch (err) {
    await handle(err as Error)
    return true
  }
  const real = (p: string) => {
    try {
      return fs.realpathSync(p)
    } catch {
      return path.resolve(p)
    }
  }
  const plugin = [...config.plugins.values()].find((p) => p.type !== 'core' && real(p.root) === real(cmd.root))
  const command = plugin?.commands.find((c) => c.id === cmd.id || c.aliases.includes(cmd.id))
  if (!command) return false
  try {
    await config.runHook('init', {argv, id: cmd.id})
    await config.runCommand(cmd.id, argv, command)
    await flush()
  } catch (err) {
    await handle(err as Error)
  }
  return true
}

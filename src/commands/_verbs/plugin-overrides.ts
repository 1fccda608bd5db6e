// Whether a user-installed oclif plugin defines a command with this name, in which case it wins over the
// built-in verb and the call goes through oclif. Costs one stat when no plugin is installed.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export function pluginDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share')
  return path.join(base, 'ocirt')
}

export function pluginOverrides(verb: string): boolean {
  const dir = pluginDataDir()
  let pkg: {oclif?: {plugins?: {name: string; type: string; root?: string}[]}; dependencies?: Record<string, string>}
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  } catch {
    return false
  }
  const roots = [
    ...Object.keys(pkg.dependencies ?? {}).map((name) => path.join(dir, 'node_modules', name)),
    ...(pkg.oclif?.plugins ?? []).filter((p) => p.type === 'link' && p.root).map((p) => p.root!),
  ]
  return roots.some((root) => {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'))
      return Object.prototype.hasOwnProperty.call(manifest.commands ?? {}, verb)
    } catch {
      return false
    }
  })
}

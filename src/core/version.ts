// The runtime's version and the OCI runtime spec version it implements.
import * as fs from 'node:fs'
import * as path from 'node:path'

export const SPEC_VERSION = '1.0.2-dev'

let cached: string | undefined

export function version(): string {
  return (cached ??= findVersion())
}

function findVersion(): string {
  let dir = __dirname
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
      if (pkg.name === 'ocirt') return pkg.version
    } catch {
      // keep walking up
    }
    dir = path.dirname(dir)
  }
  return 'unknown'
}

// The runtime's version and the OCI runtime spec version it implements.
import * as fs from 'node:fs'
import * as path from 'node:path'

/** what `spec` writes as a config's ociVersion: runc 1.1's value, so configs compare equal to runc's */
export const SPEC_VERSION = '1.0.2-dev'
/**
 * the newest runtime spec whose additions ocirt honours (1.2.0: linux.netDevices, process.ioPriority, scheduler,
 * execCPUAffinity), for `features`: an engine reads ociVersionMax to know the runtime understands those fields
 */
export const OCI_VERSION_MAX = '1.2.0'

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

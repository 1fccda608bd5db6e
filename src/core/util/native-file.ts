// Where the package's native programs are (native/build, made by `npm run build:native`), looked for in the
// package's own two layouts only: dist/ocirt-*.js (the bundles) and dist/src/<dir>/<dir>/*.js (tsc output), both
// relative to this module. Never a search further up, where a binary planted by someone else could be found and
// run as root.
import * as fs from 'node:fs'
import * as path from 'node:path'

/** The path of native/build/<rel> in this package, or undefined when it is not built. */
export function nativeFile(rel: string): string | undefined {
  for (const up of ['..', '../../../..']) {
    const candidate = path.resolve(__dirname, up, 'native', 'build', rel)
    if (fs.existsSync(candidate)) return candidate
  }
  return undefined
}

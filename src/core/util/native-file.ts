// Where the package's native programs are (native/build, made by `npm run build:native`), looked for in the
// package's own root only, found from where this module runs: dist/ (the bundles, dist/ocirt-*.js) or
// dist/src/core/util/ (tsc output). Each layout has its one root; nothing further up is ever tried, where a binary
// planted by someone else could be found and run as root.
import * as fs from 'node:fs'
import * as path from 'node:path'

const TSC_DIR = path.join('dist', 'src', 'core', 'util')

function packageRoot(here: string): string | undefined {
  if (path.basename(here) === 'dist') return path.dirname(here)
  if (here.endsWith(path.sep + TSC_DIR)) return path.resolve(here, '..', '..', '..', '..')
  return undefined
}

/** The path of native/build/<rel> in this package, or undefined when it is not built. */
export function nativeFile(rel: string, here = __dirname): string | undefined {
  const root = packageRoot(here)
  if (!root) return undefined
  const candidate = path.join(root, 'native', 'build', rel)
  return fs.existsSync(candidate) ? candidate : undefined
}

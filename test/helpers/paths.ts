// Where things are, for tests running as compiled JS: dist/test/helpers/paths.js → the repository root is three
// levels up. OCIRT_BIN may point the whole suite at another binary (for example to check a test against runc).
import * as fs from 'node:fs'
import * as path from 'node:path'

function findRepo(): string {
  // dist/test/helpers → repo; walk further up only if the layout ever changes
  for (let dir = path.resolve(__dirname, '..', '..', '..'); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test', 'fixtures'))) return dir
    if (dir === path.dirname(dir)) return path.resolve(__dirname, '..', '..', '..')
  }
}

/** The repository root. */
export const REPO = findRepo()
/** The runtime under test (bin/ocirt), or $OCIRT_BIN. */
export const OCIRT_BIN = process.env.OCIRT_BIN || path.join(REPO, 'bin', 'ocirt')
/** Build output of test/fixtures (make -C test/fixtures). */
export const FIXTURES_BUILD = path.join(REPO, 'test', 'fixtures', 'build')
/** The static probe built for the host (runs outside containers too). */
export const PROBE_BIN = path.join(FIXTURES_BUILD, 'probe')
/** The shared test rootfs (scripts/build-rootfs.sh): busybox + /bin/probe. Read-only for tests. */
export const PROBE_ROOTFS = path.join(FIXTURES_BUILD, 'rootfs')
/** The probe's path inside PROBE_ROOTFS, for process.args. */
export const PROBE = '/bin/probe'

// Bundles the executable's fast door (src/index.ts and the core it reaches) into dist/ocirt.js, so a verb
// loads one file instead of dozens. Native and heavy packages stay external and are required lazily.
import {build} from 'esbuild'
import {readFile, copyFile, mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import {execFileSync} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

// `import * as fs from 'node:fs'` makes esbuild copy every export of the builtin into a namespace object
// (__toESM), once per importing module: ~50 copies, several ms on every start. A TypeScript import-equals
// of a builtin compiles to a plain require, so rewrite those imports while bundling (sources stay idiomatic).
const plainBuiltinRequires = {
  name: 'plain-builtin-requires',
  setup(b) {
    b.onLoad({filter: /\/src\/.*\.ts$/}, async (args) => {
      const text = await readFile(args.path, 'utf8')
      return {contents: text.replace(/^import \* as (\w+) from '(node:[\w/]+)'/gm, "import $1 = require('$2')"), loader: 'ts'}
    })
  },
}

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/ocirt-main.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@oclif/*', 'koffi', 'ssh2', 'tar-fs', '@kubernetes/client-node'],
  plugins: [plainBuiltinRequires],
  // every engine call parses the bundle: minified it is ~40% smaller and starts ~8 ms sooner here; the
  // source map (not loaded at run time) maps stack traces back: node --enable-source-maps dist/ocirt.js ...
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
})

// Node reads the bundle as latin1 (scripts/ocirt-loader.js): a one-byte string, no UTF-8 decoding. esbuild
// escapes non-ASCII text in strings, not in regular expression literals: write such characters as \u escapes.
const bundled = await readFile('dist/ocirt-main.js')
const nonAscii = bundled.findIndex((b) => b > 0x7f)
if (nonAscii >= 0) {
  throw new Error(`dist/ocirt-main.js must be ASCII; non-ASCII text at byte ${nonAscii}: ${bundled.subarray(Math.max(0, nonAscii - 40), nonAscii + 10).toString()}`)
}

// The loader, and two code caches (see scripts/ocirt-loader.js): the small one warmed by a few cheap verbs
// (help-free: they never load oclif), the lifecycle one also by a real container's create, start, exec and
// delete when the build can run one (root, and the test rootfs from scripts/setup.sh).
await copyFile('scripts/ocirt-loader.js', 'dist/ocirt.js')
await rm('dist/ocirt-main.cache', {force: true})
await rm('dist/ocirt-main.lifecycle.cache', {force: true})
const root = await mkdtemp(join(tmpdir(), 'ocirt-cache-'))
const warm = (cache, args) => {
  try {
    execFileSync(process.execPath, ['dist/ocirt.js', ...args], {stdio: 'ignore', timeout: 20000, env: {...process.env, OCIRT_WRITE_CODE_CACHE: cache}})
    return true
  } catch {
    return false // `state warm-up` fails (no such container) after compiling the error path, which is the point
  }
}
try {
  for (const args of [['--version'], ['--root', root, 'list'], ['--root', root, 'state', 'warm-up']]) warm('dist/ocirt-main.cache', args)
  await warmLifecycle(root, (args) => warm('dist/ocirt-main.lifecycle.cache', ['--root', root, ...args]))
} finally {
  await rm(root, {recursive: true, force: true})
}

async function warmLifecycle(root, ocirt) {
  const rootfs = join(process.cwd(), 'test', 'fixtures', 'build', 'rootfs')
  if (process.getuid?.() !== 0 || !existsSync(join(rootfs, 'bin', 'probe'))) {
    console.warn('bundle: no lifecycle code cache (needs root and the test rootfs: scripts/setup.sh); create/run compile lazily')
    return
  }
  const bundle = join(root, 'bundle')
  await mkdir(bundle)
  execFileSync(process.execPath, ['dist/ocirt.js', 'spec', '-b', bundle])
  const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'))
  const id = `ocirt-cache-warm-${process.pid}`
  spec.root = {path: rootfs, readonly: true}
  spec.process = {...spec.process, terminal: false, args: ['/bin/probe', 'sleep', '30']}
  spec.linux = {...spec.linux, cgroupsPath: `/${id}`}
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec))
  try {
    if (ocirt(['run', '-d', '-b', bundle, id])) ocirt(['exec', id, '/bin/probe', 'true'])
  } finally {
    ocirt(['delete', '-f', id])
  }
  spec.process.args = ['/bin/probe', 'true']
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec))
  ocirt(['run', '-b', bundle, id]) // foreground: create, start, wait, delete in one process
}

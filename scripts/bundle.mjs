// Bundles the executable's fast door (src/index.ts and the core it reaches) into dist/ocirt.js, so a verb
// loads one file instead of dozens. Native and heavy packages stay external and are required lazily.
import {build} from 'esbuild'
import {readFile, copyFile, mkdtemp, mkdir, rm, symlink, writeFile} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import {execFileSync} from 'node:child_process'
import {tmpdir} from 'node:os'
import {createRequire} from 'node:module'
import {join} from 'node:path'

// `import * as fs from 'node:fs'` makes esbuild copy every export of the builtin into a namespace object
// (__toESM), once per importing module: ~50 copies, several ms on every start. A TypeScript import-equals
// of a builtin compiles to a plain require, so rewrite those imports while bundling (sources stay idiomatic).
const wrap = createRequire(import.meta.url)('./bundle-wrap.cjs')

const plainBuiltinRequires = {
  name: 'plain-builtin-requires',
  setup(b) {
    b.onLoad({filter: /\/src\/.*\.ts$/}, async (args) => {
      const text = await readFile(args.path, 'utf8')
      return {contents: text.replace(/^import \* as (\w+) from '(node:[\w/]+)'/gm, "import $1 = require('$2')"), loader: 'ts'}
    })
  },
}

// three bundles of the same door: every verb, state + list alone (src/query.ts), and both sides of a migration
// (src/migrate-door.ts; see scripts/ocirt-loader.js)
const ENTRIES = [['src/index.ts', 'dist/ocirt-main.js'], ['src/query.ts', 'dist/ocirt-query.js'], ['src/migrate-door.ts', 'dist/ocirt-migrate.js']]
for (const [entry, outfile] of ENTRIES) await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@oclif/*', 'koffi', 'ssh2', 'tar-fs', '@kubernetes/client-node'],
  plugins: [plainBuiltinRequires],
  // every engine call parses the bundle: minified it is ~40% smaller and starts ~8 ms sooner here; the
  // source map (not loaded at run time) maps stack traces back: node --enable-source-maps dist/ocirt.js ...
  minify: true,
  // written as Module.wrap would wrap it (scripts/bundle-wrap.cjs), so the loader compiles the file's text as
  // read: no concatenated copy of the ~200 KB source (a young-generation string, flattened at compile) per start
  banner: {js: wrap.banner},
  footer: {js: wrap.footer},
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
})

// Node reads the bundle as latin1 (scripts/ocirt-loader.js): a one-byte string, no UTF-8 decoding. esbuild
// escapes non-ASCII text in strings, not in regular expression literals: write such characters as \u escapes.
for (const [, file] of ENTRIES) {
  const bundled = await readFile(file)
  const nonAscii = bundled.findIndex((b) => b > 0x7f)
  if (nonAscii >= 0) {
    throw new Error(`${file} must be ASCII; non-ASCII text at byte ${nonAscii}: ${bundled.subarray(Math.max(0, nonAscii - 40), nonAscii + 10).toString()}`)
  }
}

// The loader, and five code caches (see scripts/ocirt-loader.js): the main bundle's small one warmed by a few
// cheap verbs (help-free: they never load oclif), its lifecycle one also by a real container's create, start,
// exec and delete when the build can run one (root, and the test rootfs from scripts/setup.sh), the query
// bundle's by list and state (of that container too), and the migration bundle's two: the agent's (an unpacker)
// and the source's (`migrate` of no container).
await copyFile('scripts/ocirt-loader.js', 'dist/ocirt.js')
for (const cache of ['ocirt-main.cache', 'ocirt-main.lifecycle.cache', 'ocirt-query.cache', 'ocirt-migrate.cache', 'ocirt-migrate.source.cache']) await rm(`dist/${cache}`, {force: true})
const root = await mkdtemp(join(tmpdir(), 'ocirt-cache-'))
const warm = (cache, args, input) => {
  try {
    // a plugin dir of its own (empty): the builder's plugins would send migrate through oclif and their hooks
    execFileSync(process.execPath, ['dist/ocirt.js', ...args], {stdio: [input ? 'pipe' : 'ignore', 'ignore', 'ignore'], input, timeout: 20000, env: {...process.env, OCIRT_WRITE_CODE_CACHE: cache, OCIRT_DATA_DIR: root}})
    return true
  } catch {
    return false // `state warm-up` fails (no such container) after compiling the error path, which is the point
  }
}
try {
  for (const args of [['--version'], ['--root', root, 'kill', 'warm-up']]) warm('dist/ocirt-main.cache', args)
  for (const args of [['--root', root, 'list'], ['--root', root, 'state', 'warm-up']]) warm('dist/ocirt-query.cache', args)
  // an unpacker of a small tree (a directory, a file, a symlink): what a migration's unpackers run, the bundle's
  // changes during the freeze among them, is compiled in the cache (with an empty stream only the start was)
  warm('dist/ocirt-migrate.cache', ['--root', root, 'migrate-agent', '--unpack', join(root, 'unpack-warm-up')], await smallTar(root))
  // `migrate` of no container: it loads the source's modules before it finds none
  warm('dist/ocirt-migrate.source.cache', ['--root', root, 'migrate', 'warm-up', '--to', 'root@127.0.0.1:1'])
  const query = (args) => warm('dist/ocirt-query.cache', ['--root', root, ...args])
  await warmLifecycle(root, (args) => warm('dist/ocirt-main.lifecycle.cache', ['--root', root, ...args]), query)
} finally {
  await rm(root, {recursive: true, force: true})
}

/** A tar of a directory holding a file and a symlink, made by the system's tar (or none: an empty stream then). */
async function smallTar(root) {
  const dir = join(root, 'tar-warm-up')
  try {
    await mkdir(join(dir, 'sub'), {recursive: true})
    await writeFile(join(dir, 'sub', 'file'), 'warm-up\n')
    await symlink('sub/file', join(dir, 'link'))
    return execFileSync('tar', ['-C', dir, '-cf', '-', '.'], {maxBuffer: 1 << 20})
  } catch {
    return undefined
  }
}

async function warmLifecycle(root, ocirt, query) {
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
    if (ocirt(['run', '-d', '-b', bundle, id])) {
      ocirt(['exec', id, '/bin/probe', 'true'])
      query(['state', id])
      query(['list'])
    }
  } finally {
    ocirt(['delete', '-f', id])
  }
  spec.process.args = ['/bin/probe', 'true']
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec))
  ocirt(['run', '-b', bundle, id]) // foreground: create, start, wait, delete in one process
}

// @kubernetes/client-node costs ~600 ms to load: only src/migrate/k8s/client.ts may load it (lazily), and
// nothing on the engine door (src/index.ts, src/core, src/commands/_verbs) may reach src/migrate at all.
// Loading the k8s barrel must not load the client either.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {REPO} from '../../helpers/paths'

function sources(dir: string): string[] {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : []
  })
}

/** Import specifiers that load code at run time (type-only imports are erased by tsc). */
function valueImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8')
  const found: string[] = []
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) if (!m[2]) found.push(m[3])
  for (const m of text.matchAll(/\b(?:require|import)\(\s*'([^']+)'\s*\)/g)) found.push(m[1])
  return found
}

test('only src/migrate/k8s/client.ts names @kubernetes/client-node in code that runs', () => {
  const offenders = sources(path.join(REPO, 'src'))
    .filter((f) => valueImports(f).some((s) => s.startsWith('@kubernetes/')))
    .map((f) => path.relative(REPO, f))
  assert.deepEqual(offenders, [])
  // and client.ts itself reaches it only through its lazy import()
  const client = fs.readFileSync(path.join(REPO, 'src', 'migrate', 'k8s', 'client.ts'), 'utf8')
  assert.match(client, /const PACKAGE = '@kubernetes\/client-node'/)
  assert.match(client, /createRequire\(__filename\)\.resolve\(PACKAGE\)/)
  assert.match(client, /import type \* as K8s from '@kubernetes\/client-node'/)
})

test('the engine door never imports src/migrate', () => {
  const door = [path.join(REPO, 'src', 'index.ts'), path.join(REPO, 'src', 'door.ts'), path.join(REPO, 'src', 'query.ts'), ...sources(path.join(REPO, 'src', 'core')), ...sources(path.join(REPO, 'src', 'commands', '_verbs'))]
  const offenders = door.filter((f) => valueImports(f).some((s) => /(^|\/)migrate(\/|$)/.test(s))).map((f) => path.relative(REPO, f))
  assert.deepEqual(offenders, [])
})

test('loading the k8s barrel, parseTarget and the hook module loads no Kubernetes code', () => {
  const dist = path.join(REPO, 'dist', 'src', 'migrate')
  const script = `
    require(${JSON.stringify(path.join(dist, 'k8s', 'index.js'))})
    require(${JSON.stringify(path.join(dist, 'target.js'))})
    require(${JSON.stringify(path.join(dist, 'target-hook.js'))})
    const loaded = Object.keys(require.cache).filter((k) => k.includes('node_modules'))
    process.stdout.write(JSON.stringify(loaded))`
  const r = spawnSync(process.execPath, ['-e', script], {encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), [], 'no package was loaded')
})

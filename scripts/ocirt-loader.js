// dist/ocirt.js: starts a bundled runtime from V8's code cache, made at build time, so the bundle is not parsed
// and compiled again on every engine call. Three bundles: ocirt-query.js (state and list: ~1/5 of the code),
// ocirt-migrate.js (`ocirt migrate` without plugins, and migrate-agent, which it starts on the target) and
// ocirt-main.js (every verb), which the smaller bundles hand anything else to. Caches of the main bundle:
// ocirt-main.cache holds what the cheap verbs (kill, pause, ...) compile, and ocirt-main.lifecycle.cache also
// the create/start/exec/delete path, which would otherwise compile lazily on every container start (~5-10 ms);
// the small one stays small so that they deserialize less. Without a usable cache (another Node version, a
// missing file) a bundle simply compiles as Node would.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')

const LIFECYCLE_VERBS = new Set(['create', 'run', 'start', 'exec', 'delete'])
const args = process.argv.slice(2)
const lifecycle = args.some((a) => LIFECYCLE_VERBS.has(a))
// a rough guess (a flag's value or exec's command may be named so too): the query bundle parses argv properly
// and hands over what it does not serve
const query = !lifecycle && args.some((a) => a === 'state' || a === 'list')
// both sides of `ocirt migrate` (src/migrate-door.ts): the source's verb, and the agent and its unpackers it starts
// on the target; the same rough guess, handed over to the main bundle when wrong. With plugins installed oclif
// serves migrate (their hooks), so it goes to the main bundle at once (the plugin list: plugin-overrides.ts)
const migrateAgent = !lifecycle && !query && args.includes('migrate-agent')
const migration = migrateAgent || (!lifecycle && !query && args.includes('migrate') && !pluginsInstalled())

function pluginsInstalled() {
  const env = process.env
  const dataDir = env.OCIRT_DATA_DIR || path.join(env.XDG_DATA_HOME || path.join(env.HOME || require('node:os').homedir(), '.local', 'share'), 'ocirt')
  return fs.existsSync(path.join(dataDir, 'package.json'))
}
const scripts = {}

function load(name, caches) {
  const file = path.join(__dirname, `${name}.js`)
  let cachedData
  for (const cache of caches) {
    try {
      cachedData = fs.readFileSync(path.join(__dirname, cache))
      break
    } catch {
      cachedData = undefined
    }
  }
  // latin1: the build keeps the bundles ASCII (scripts/bundle.mjs checks), and a one-byte read skips UTF-8 decoding;
  // the build wrote the bundle already wrapped as a CommonJS module function
  const script = new vm.Script(fs.readFileSync(file, 'latin1'), {filename: file, cachedData})
  scripts[name] = script
  // the bundle lives beside this file, so this module's own require resolves its externals (node_modules) as a
  // module of its own would; the bundles use nothing else of `module` (no exports): `node:module` is not loaded
  script.runInThisContext().call(module.exports, module.exports, require, module, file, __dirname)
}

const loadMain = () => load('ocirt-main', lifecycle ? ['ocirt-main.lifecycle.cache', 'ocirt-main.cache'] : ['ocirt-main.cache'])
globalThis[Symbol.for('ocirt.loadMain')] = loadMain
if (query) load('ocirt-query', ['ocirt-query.cache'])
// the source's side has a cache of its own: the agent, started several times per migration, deserializes less
else if (migration) load('ocirt-migrate', migrateAgent ? ['ocirt-migrate.cache'] : ['ocirt-migrate.source.cache', 'ocirt-migrate.cache'])
else loadMain()

// `OCIRT_WRITE_CODE_CACHE=FILE node dist/ocirt.js ARGS...` (build only): run ARGS, then save the cache of the
// bundle FILE is named after, which then holds every function the run compiled (those it started with included).
if (process.env.OCIRT_WRITE_CODE_CACHE) {
  process.once('exit', () => {
    const out = process.env.OCIRT_WRITE_CODE_CACHE
    const script = scripts[path.basename(out).split('.')[0]]
    if (script) fs.writeFileSync(out, script.createCachedData())
  })
}

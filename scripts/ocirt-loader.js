// dist/ocirt.js: starts the bundled runtime (dist/ocirt-main.js) from V8's code cache, made at build time, so
// the ~170 KB bundle is not parsed and compiled again on every engine call. Two caches of the same bundle:
// ocirt-main.cache holds what the cheap verbs (state, list, kill, ...) compile, and ocirt-main.lifecycle.cache
// also the create/start/exec/delete path, which would otherwise compile lazily on every container start (~5-10 ms);
// the small one stays small so that `state` deserializes less. Without a usable cache (another Node version, a
// missing file) it simply compiles the bundle as Node would.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')
const Module = require('node:module')

const LIFECYCLE_VERBS = new Set(['create', 'run', 'start', 'exec', 'delete'])
const main = path.join(__dirname, 'ocirt-main.js')
const lifecycle = process.argv.slice(2).some((a) => LIFECYCLE_VERBS.has(a))
let cachedData
for (const name of lifecycle ? ['ocirt-main.lifecycle.cache', 'ocirt-main.cache'] : ['ocirt-main.cache']) {
  try {
    cachedData = fs.readFileSync(path.join(__dirname, name))
    break
  } catch {
    cachedData = undefined
  }
}
// latin1: the build keeps the bundle ASCII (scripts/bundle.mjs checks), and a one-byte read skips UTF-8 decoding
const script = new vm.Script(Module.wrap(fs.readFileSync(main, 'latin1')), {filename: main, cachedData})
const mod = new Module(main, module)
mod.filename = main
mod.paths = Module._nodeModulePaths(__dirname)
require.cache[main] = mod
script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, main, __dirname)

// `OCIRT_WRITE_CODE_CACHE=FILE node dist/ocirt.js ARGS...` (build only): run ARGS, then save the cache, which
// then holds every function the run compiled (those it started with from a cache included).
if (process.env.OCIRT_WRITE_CODE_CACHE) {
  process.once('exit', () => fs.writeFileSync(process.env.OCIRT_WRITE_CODE_CACHE, script.createCachedData()))
}

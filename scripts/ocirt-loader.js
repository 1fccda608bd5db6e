// dist/ocirt.js: starts the bundled runtime (dist/ocirt-main.js) from V8's code cache (dist/ocirt-main.cache,
// made at build time), so the ~170 KB bundle is not parsed and compiled again on every engine call.
// Without a usable cache (another Node version, a missing file) it simply compiles the bundle as Node would.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')
const Module = require('node:module')

const main = path.join(__dirname, 'ocirt-main.js')
let cachedData
try {
  cachedData = fs.readFileSync(path.join(__dirname, 'ocirt-main.cache'))
} catch {
  cachedData = undefined
}
const script = new vm.Script(Module.wrap(fs.readFileSync(main, 'utf8')), {filename: main, cachedData})
const mod = new Module(main, module)
mod.filename = main
mod.paths = Module._nodeModulePaths(__dirname)
require.cache[main] = mod
script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, main, __dirname)

// `node dist/ocirt.js --write-code-cache FILE ARGS...` (build only): run ARGS, then save the cache, which then
// holds every function the run compiled.
if (process.env.OCIRT_WRITE_CODE_CACHE) {
  process.once('exit', () => fs.writeFileSync(process.env.OCIRT_WRITE_CODE_CACHE, script.createCachedData()))
}

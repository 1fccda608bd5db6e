// The one place that loads @kubernetes/client-node, lazily, at call time: it costs ~600 ms unbundled and
// must never reach src/core or a hot verb (MACHINE.md). The package is ESM-only, so it takes a real import():
//   - tsc (module commonjs) would turn a plain `import()` into `require()`, which some Node 20 releases cannot
//     do for ESM, so the import() is built with new Function, which neither tsc nor esbuild rewrites;
//   - it is given the package's resolved file URL: an import() in a Function body resolves bare names from
//     the working directory, not from this file;
//   - code that dist/ocirt.js runs from V8's code cache is compiled by vm.Script, where import() fails with
//     ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING; there the import() runs from a module compiled by Node's own
//     CommonJS loader instead, which has the callback.
import Module, {createRequire} from 'node:module'
import {pathToFileURL} from 'node:url'
import type * as K8s from '@kubernetes/client-node'

export type K8sModule = typeof K8s
type ImportUrl = (url: string) => Promise<unknown>

const PACKAGE = '@kubernetes/client-node'
let loading: Promise<K8sModule> | undefined

export function loadK8sClient(): Promise<K8sModule> {
  // createRequire, not require.resolve: dist/ocirt.js hands the bundle a bare require function
  loading ??= importEsm(pathToFileURL(createRequire(__filename).resolve(PACKAGE)).href) as Promise<K8sModule>
  return loading
}

async function importEsm(url: string): Promise<unknown> {
  try {
    return await (new Function('url', 'return import(url)') as ImportUrl)(url)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') throw err
    return loaderCompiledImport()(url)
  }
}

/** An import() function in a module that Node's CommonJS loader compiles (with its dynamic import callback). */
function loaderCompiledImport(): ImportUrl {
  const mod = new Module(__filename) as Module & {_compile(code: string, filename: string): void}
  mod.filename = __filename
  mod._compile('module.exports = (url) => import(url)', __filename)
  return mod.exports as ImportUrl
}

// The one place that loads @kubernetes/client-node, lazily, at call time: it costs ~600 ms unbundled and
// must never reach src/core or a hot verb (MACHINE.md). The package is ESM-only. tsc (module commonjs)
// would turn a plain `import()` into `require()`, which some Node 20 releases cannot do for ESM, so the
// import() is built with new Function, which neither tsc nor esbuild rewrites. It is given the package's
// resolved file URL: an import() from a Function body resolves bare names from the working directory, not
// from this file.
import {pathToFileURL} from 'node:url'
import type * as K8s from '@kubernetes/client-node'

export type K8sModule = typeof K8s

const importUrl = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>
let loading: Promise<K8sModule> | undefined

export function loadK8sClient(): Promise<K8sModule> {
  loading ??= importUrl(pathToFileURL(require.resolve('@kubernetes/client-node')).href) as Promise<K8sModule>
  return loading
}

// The public core API, for oclif plugins (`require('ocirt')`, package.json "main") and for the CLI's own
// callers. Named re-exports only: loading this file runs no code of its own (koffi and friends stay lazy).
// Anything not listed here is internal and may change without notice.

export {createRuntime, defaultRoot, isRootless} from './runtime'
export type {Runtime, RuntimeOptions} from './runtime'

export {create} from './lifecycle/create'
export type {CreateOptions, Created} from './lifecycle/create'
export {start} from './lifecycle/start'
export {run} from './lifecycle/run'
export type {RunOptions} from './lifecycle/run'
export {kill} from './lifecycle/kill'
export type {KillOptions} from './lifecycle/kill'
export {deleteContainer} from './lifecycle/delete'
export type {DeleteOptions} from './lifecycle/delete'
export {pause, resume} from './lifecycle/pause'
export {state, list, ps} from './lifecycle/query'
export type {OciState, Status} from './state/facts'

export {defaultSpec, rootlessSpec, specToJson} from './spec/defaults'
export type {Spec} from './spec/types'
export {features} from './features'
export type {Features} from './features'

export {OcirtError, InvalidInput, StepFailed, SENTINEL} from './errors'
export {version, SPEC_VERSION} from './version'

// Builds the core Runtime from the global flags (both doors).
import type {FlagValues} from './types'
import {createRuntime, type Runtime} from '../../core/runtime'

export function runtimeFrom(globals: FlagValues): Runtime {
  return createRuntime({
    root: globals.root as string | undefined,
    rootless: globals.rootless as 'auto' | 'true' | 'false',
    criu: globals.criu as string | undefined,
    debug: globals.debug === true,
    systemdCgroup: globals['systemd-cgroup'] === true,
  })
}

// Builds the core Runtime from the global flags (both doors).
import type {FlagValues} from './types'
import {createRuntime, type Runtime} from '../../core/runtime'
import {OcirtError} from '../../core/errors'

export function runtimeFrom(globals: FlagValues): Runtime {
  if (globals['systemd-cgroup']) {
    throw new OcirtError('systemd cgroup driver is not supported yet (no systemd driver): drop --systemd-cgroup to use cgroupfs', {step: 'configure cgroups'})
  }
  return createRuntime({
    root: globals.root as string | undefined,
    rootless: globals.rootless as 'auto' | 'true' | 'false',
    criu: globals.criu as string | undefined,
    debug: globals.debug === true,
  })
}

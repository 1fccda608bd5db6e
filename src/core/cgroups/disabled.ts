// The manager used by a rootless container that has no delegated (writable) cgroup: nothing to create or join,
// exists() is false, and asking for limits fails with runc's message instead of being silently dropped.
import {StepFailed, type ErrorContext} from '../errors'
import type {CgroupManager} from './manager'
import {resourceWrites} from './resources'
import {parseStats} from './stats'
import type {CgroupStats, LinuxResources} from './types'

export class DisabledManager implements CgroupManager {
  private readonly ctx: ErrorContext

  /** `createError`: why create() must fail (runc refuses an explicit cgroupsPath it cannot create); else a no-op. */
  constructor(readonly version: 'v1' | 'v2', ctx: ErrorContext, private readonly createError?: string) {
    this.ctx = ctx
  }

  paths(): Record<string, string> {
    return {}
  }

  create(): void {
    if (this.createError) throw new StepFailed(this.createError, {...this.ctx, step: 'create cgroup', errno: 'EACCES'})
  }

  addProcess(_pid: number): void {}

  madeDirs(): string[] {
    return []
  }

  /** Device rules are ignored, as runc ignores them rootless; any other limit cannot be honoured. */
  apply(res: LinuxResources): void {
    const write = resourceWrites(res, this.version, this.ctx).find((w) => w.controller !== 'devices')
    if (write) {
      throw new StepFailed(`cannot set ${write.controller} limit: container could not join or create cgroup`, {
        ...this.ctx,
        step: 'apply cgroup resources',
      })
    }
  }

  setFrozen(frozen: boolean): void {
    throw new StepFailed('the container has no cgroup (rootless without a delegated cgroup)', {
      ...this.ctx,
      step: frozen ? 'freeze cgroup' : 'thaw cgroup',
    })
  }

  isFrozen(): boolean {
    return false
  }

  pids(_recursive?: boolean): number[] {
    return []
  }

  stats(): CgroupStats {
    return parseStats(this.version, {})
  }

  killAll(_signal: number): void {}

  destroy(): void {}

  exists(): boolean {
    return false
  }
}

// The compiled filter kept in the container's state directory: `create` compiles the profile once, and every
// `exec` (engines exec for health checks, often) loads the same program from here without koffi or
// libseccomp. The flags and the listener come from the saved config (planFilter is pure and cheap).
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {LinuxSeccomp} from '../spec/types'
import {writeFileAtomic} from '../state/store'
import {compileSeccomp, planFilter, type CompiledSeccomp} from './compile'

const FILE = 'seccomp.bpf'

export function saveFilter(containerDir: string, bpf: Buffer): void {
  writeFileAtomic(path.join(containerDir, FILE), bpf, 0o600)
}

/** The container's filter for a process joining it: the saved program, or compiled again if there is none. */
export function joiningSeccomp(containerDir: string, sc: LinuxSeccomp | undefined, ctx: {verb: string; id: string}): CompiledSeccomp | undefined {
  if (!sc) return undefined
  let bpf: Buffer
  try {
    bpf = fs.readFileSync(path.join(containerDir, FILE))
  } catch {
    return compileSeccomp(sc, ctx) // made by a create that did not save it (a restored container)
  }
  const plan = planFilter(sc, ctx)
  return {flags: plan.flags, bpf, listener: plan.listener, skipped: []}
}

// What ocirt shows of an engine's containers: the proof that ocirt (not runc) ran one, its cgroup files and
// seccomp mode, and the removal of what ocirt still holds under an engine's root after the engine is gone.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {ocirt} from '../ocirt'
import {REPO} from '../paths'

/** `ocirt --root ROOT delete --force` of every container ocirt still keeps under ROOT. */
export async function deleteOcirtContainers(root: string): Promise<void> {
  if (!fs.existsSync(root)) return
  for (const id of fs.readdirSync(root)) {
    if (!fs.existsSync(path.join(root, id, 'state.json'))) continue
    const r = await ocirt(['delete', '--force', id], {root, timeoutMs: 30_000})
    if (r.code !== 0) process.stderr.write(`engine cleanup: ocirt delete --force ${id}: ${r.stderr}\n`)
  }
}

/** This repository's ocirt, even when $OCIRT_BIN points the engines at another runtime: it reads only ocirt's state. */
const OCIRT_ITSELF = path.join(REPO, 'bin', 'ocirt')

/**
 * The proof that ocirt ran the engine's container: ocirt's own state under ROOT knows ID, as running, with the
 * pid the engine reports. (runc keeps a different state; an engine that ran runc leaves nothing ocirt can read.)
 */
export async function assertRunByOcirt(root: string, id: string, enginePid: number): Promise<void> {
  const r = await ocirt(['state', id], {root, bin: OCIRT_ITSELF})
  assert.equal(r.code, 0, `ocirt --root ${root} state ${id} must know the engine's container (stderr: ${r.stderr})`)
  const state = r.json()
  assert.equal(state.status, 'running', `ocirt's state of ${id}`)
  assert.equal(state.pid, enginePid, `ocirt's init pid of ${id} is the engine's container pid`)
}

/** The value of FILE in the v1 controller's cgroup of PID, e.g. memory.limit_in_bytes. */
export function cgroupFileOf(pid: number, controller: string, file: string): string {
  const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller))
  if (!line) throw new Error(`pid ${pid} has no ${controller} cgroup`)
  const rel = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1)
  const mount = fs.existsSync(`/sys/fs/cgroup/${controller}`) ? `/sys/fs/cgroup/${controller}` : '/sys/fs/cgroup'
  return fs.readFileSync(path.join(mount, rel, file), 'utf8').trim()
}

/** The Seccomp: field of /proc/PID/status: 0 none, 2 a filter (what the engine's profile must give). */
export function seccompModeOf(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Seccomp:'))
  return Number(line?.split(/\s+/)[1])
}

// Loading a container for a verb: its recorded facts, its derived status and the OCI state JSON.
import * as fs from 'node:fs'
import {OcirtError, SENTINEL} from '../errors'
import {lockContainer, type Unlock} from '../state/lock'
import type {Runtime} from '../runtime'
import type {ContainerFacts, OciState, Status} from '../state/facts'
import {deriveStatus, allowed, initAlive, readProcStat, type Operation} from '../state/status'
import type {Spec} from '../spec/types'
import type {CgroupManager} from '../cgroups'
import {nsFileName, type NamespaceType} from '../namespaces'
import {fifoPath, loadFacts} from '../state/store'

export interface Loaded {
  facts: ContainerFacts
  status: Status
}

export function loadContainer(rt: Runtime, id: string, verb: string): Loaded {
  const facts = loadFacts(rt, id, verb)
  return {facts, status: deriveStatus(facts, fifoPath(rt, id))}
}

/**
 * Loads a container for a mutating verb: checks the status, takes the container's lock, then loads and checks
 * again, because the wait for the lock (behind a checkpoint or a migration) may have changed everything.
 */
export async function lockForOperation(rt: Runtime, id: string, op: Operation, verb: string): Promise<Loaded & {unlock: Unlock}> {
  requireAllowed(op, loadContainer(rt, id, verb), verb)
  const unlock = await lockContainer(rt, id, verb)
  try {
    const loaded = loadContainer(rt, id, verb)
    requireAllowed(op, loaded, verb)
    return {...loaded, unlock}
  } catch (err) {
    unlock()
    throw err
  }
}

/** Throws runc's message when `op` is not allowed in the container's current status. */
export function requireAllowed(op: Operation, loaded: Loaded, verb: string): void {
  if (allowed(op, loaded.status)) return
  const id = loaded.facts.id
  if (loaded.status === 'stopped' && (op === 'kill' || op === 'exec' || op === 'pause' || op === 'checkpoint')) {
    throw new OcirtError(SENTINEL.notRunning, {verb, id})
  }
  // runc's libcontainer: Pause of a paused container is ErrNotRunning, Resume of anything unpaused ErrNotPaused
  if (op === 'pause' && loaded.status === 'paused') throw new OcirtError(SENTINEL.notRunning, {verb, id})
  if (op === 'resume') throw new OcirtError(SENTINEL.notPaused, {verb, id})
  if (loaded.status === 'paused' && op === 'exec') throw new OcirtError(SENTINEL.paused, {verb, id})
  if (op === 'start') {
    // runc's start: one text per status
    const text = {stopped: SENTINEL.notCreated, running: 'cannot start an already running container',
      paused: 'cannot start a container in the paused state'}[loaded.status as 'stopped' | 'running' | 'paused']
    if (text) throw new OcirtError(text, {verb, id})
  }
  throw new OcirtError(`cannot ${op} a container that is ${loaded.status}`, {verb, id})
}

/**
 * Host pids of a container that has no cgroup (rootless, nothing delegated), for ps and kill --all: every process
 * in its own pid namespace, found by comparing /proc/<pid>/ns/pid with the init's (the user owns the container's
 * user namespace, so it may read them). Without a pid namespace of its own only the init can be told apart.
 */
export function pidsWithoutCgroup(facts: ContainerFacts): number[] {
  if (!initAlive(facts)) return []
  if (facts.namespaces.pid !== `/proc/${facts.pid}/ns/pid`) return [facts.pid]
  let ns: string
  try {
    ns = fs.readlinkSync(`/proc/${facts.pid}/ns/pid`)
  } catch {
    return [facts.pid]
  }
  const pids: number[] = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue
    try {
      if (fs.readlinkSync(`/proc/${name}/ns/pid`) === ns) pids.push(Number(name))
    } catch {
      // gone, or not ours to look at
    }
  }
  return pids.sort((a, b) => a - b)
}

/**
 * The state hooks read on stdin: the runtime spec's State, as runc sends it (specs.State: ociVersion, id,
 * status, pid omitted when 0, bundle, annotations omitted when empty). Not `ocirt state`'s shape.
 */
export function hookState(facts: ContainerFacts, status: Status): string {
  return JSON.stringify({
    ociVersion: facts.ociVersion,
    id: facts.id,
    status,
    ...(status !== 'stopped' && facts.pid ? {pid: facts.pid} : {}),
    bundle: facts.bundle,
    ...(facts.annotations && Object.keys(facts.annotations).length ? {annotations: facts.annotations} : {}),
  })
}

export function ociState(facts: ContainerFacts, status: Status): OciState {
  const state: OciState = {
    ociVersion: facts.ociVersion,
    id: facts.id,
    pid: status === 'stopped' ? 0 : facts.pid,
    status,
    bundle: facts.bundle,
    rootfs: facts.rootfs,
    created: facts.created,
    // runc's containerState: annotations (omitted when empty) come before owner, in state and list JSON
    ...(facts.annotations && Object.keys(facts.annotations).length ? {annotations: facts.annotations} : {}),
    owner: facts.owner,
  }
  return state
}

let ownerName: string | undefined
export function currentOwner(): string {
  if (ownerName === undefined) {
    // /etc/passwd directly, as runc does: os.userInfo() goes through NSS (sssd, LDAP), slow on some hosts
    const uid = String(process.geteuid?.() ?? 0)
    ownerName = uid
    try {
      const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === uid)
      if (line) ownerName = line.split(':')[0]
    } catch {
      // no passwd file: the numeric uid
    }
  }
  return ownerName
}

export interface NewContainer {
  id: string
  pid: number
  bundle: string
  rootfs: string
  spec: Spec
  cgroup: CgroupManager
  cgroupPath: string
}

/** The facts of a container whose init just came to life (create, restore). */
export function newFacts(rt: Runtime, c: NewContainer): ContainerFacts {
  const namespaces: Record<string, string> = {}
  for (const ns of c.spec.linux?.namespaces ?? []) {
    namespaces[ns.type] = ns.path || `/proc/${c.pid}/ns/${nsFileName(ns.type as NamespaceType)}`
  }
  return {
    ociVersion: c.spec.ociVersion,
    id: c.id,
    pid: c.pid,
    pidStartTime: readProcStat(c.pid)?.startTime ?? '',
    bundle: c.bundle,
    rootfs: c.rootfs,
    created: new Date().toISOString(),
    owner: currentOwner(),
    annotations: c.spec.annotations ?? {},
    cgroup: {version: c.cgroup.version, path: c.cgroupPath, paths: c.cgroup.paths(), made: c.cgroup.madeDirs()},
    namespaces,
    rootless: rt.rootless,
    terminal: c.spec.process?.terminal === true,
  }
}

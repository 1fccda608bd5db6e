// Loading a container for a verb: its recorded facts, its derived status and the OCI state JSON.
import * as os from 'node:os'
import {OcirtError, SENTINEL} from '../errors'
import type {Runtime} from '../runtime'
import type {ContainerFacts, OciState, Status} from '../state/facts'
import {deriveStatus, allowed, type Operation} from '../state/status'
import {fifoPath, loadFacts} from '../state/store'

export interface Loaded {
  facts: ContainerFacts
  status: Status
}

export function loadContainer(rt: Runtime, id: string, verb: string): Loaded {
  const facts = loadFacts(rt, id, verb)
  return {facts, status: deriveStatus(facts, fifoPath(rt, id))}
}

/** Throws runc's message when `op` is not allowed in the container's current status. */
export function requireAllowed(op: Operation, loaded: Loaded, verb: string): void {
  if (allowed(op, loaded.status)) return
  const id = loaded.facts.id
  if (loaded.status === 'stopped' && (op === 'kill' || op === 'exec' || op === 'pause' || op === 'ps' || op === 'checkpoint')) {
    throw new OcirtError(SENTINEL.notRunning, {verb, id})
  }
  if (loaded.status === 'paused' && op === 'exec') throw new OcirtError(SENTINEL.paused, {verb, id})
  if (op === 'start' && loaded.status === 'stopped') throw new OcirtError(SENTINEL.notCreated, {verb, id})
  throw new OcirtError(`cannot ${op} a container that is ${loaded.status}`, {verb, id})
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
    owner: facts.owner,
  }
  if (facts.annotations && Object.keys(facts.annotations).length) state.annotations = facts.annotations
  return state
}

let ownerName: string | undefined
export function currentOwner(): string {
  if (ownerName === undefined) {
    try {
      ownerName = os.userInfo().username
    } catch {
      ownerName = String(process.geteuid?.() ?? '')
    }
  }
  return ownerName
}

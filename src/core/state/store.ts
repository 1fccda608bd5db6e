// The state directory of each container: <root>/<id>/{state.json, config.json, exec.fifo, .lock}.
// mkdir (not recursive) reserves an id; files are written to a temp name and renamed, so a reader never
// sees half a file.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {InvalidInput, OcirtError, SENTINEL, wrapSysError} from '../errors'
import type {Runtime} from '../runtime'
import type {ContainerFacts} from './facts'
import type {Spec} from '../spec/types'

const ID_PATTERN = /^[A-Za-z0-9_+.-]+$/
const ID_MAX = 255

export const STATE_FILE = 'state.json'
export const CONFIG_FILE = 'config.json'
export const FIFO_FILE = 'exec.fifo'

export function validateId(id: string, verb: string): void {
  const problem =
    id === '' ? 'container id cannot be empty'
      : id.length > ID_MAX ? `container id is too long (${id.length} characters, at most ${ID_MAX})`
        : id === '.' || id === '..' ? `invalid container id ${JSON.stringify(id)}`
          : !ID_PATTERN.test(id) ? `invalid container id ${JSON.stringify(id)}: only letters, digits, _ + - . are allowed`
            : undefined
  if (problem) throw new InvalidInput(problem, {verb})
}

export function containerDir(rt: Runtime, id: string): string {
  return path.join(rt.root, id)
}

export function fifoPath(rt: Runtime, id: string): string {
  return path.join(rt.root, id, FIFO_FILE)
}

/**
 * Makes the state root (0700: state files name host paths and pids) if missing. Rootless, the root must be our
 * own: a directory another user made in advance (say /tmp/ocirt-<uid>, the default without XDG_RUNTIME_DIR) could
 * feed us forged state files.
 */
export function ensureRoot(rt: Runtime, verb: string): void {
  let owner: number
  try {
    fs.mkdirSync(rt.root, {recursive: true, mode: 0o700})
    owner = fs.statSync(rt.root).uid
  } catch (err) {
    throw wrapSysError(err, {verb, step: `create state root ${rt.root}`})
  }
  if (rt.rootless && owner !== rt.euid) {
    throw new OcirtError(`state root ${rt.root} belongs to uid ${owner}, not to uid ${rt.euid}: use --root or XDG_RUNTIME_DIR`, {verb, step: 'create state root'})
  }
}

/** Reserves the id: fails with runc's "already exists" text when another container holds it. */
export function reserveId(rt: Runtime, id: string, verb: string): string {
  ensureRoot(rt, verb)
  const dir = containerDir(rt, id)
  try {
    fs.mkdirSync(dir, {mode: 0o700})
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InvalidInput(SENTINEL.exists, {verb, id})
    throw wrapSysError(err, {verb, id, step: 'create state directory'})
  }
  return dir
}

export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    fs.writeFileSync(tmp, data, {mode})
    fs.renameSync(tmp, file)
  } catch (err) {
    fs.rmSync(tmp, {force: true})
    throw err
  }
}

export function saveFacts(rt: Runtime, facts: ContainerFacts): void {
  writeFileAtomic(path.join(containerDir(rt, facts.id), STATE_FILE), JSON.stringify(facts))
}

export function saveConfig(rt: Runtime, id: string, spec: Spec): void {
  writeFileAtomic(path.join(containerDir(rt, id), CONFIG_FILE), JSON.stringify(spec))
}

export function loadConfig(rt: Runtime, id: string, verb: string): Spec {
  try {
    return JSON.parse(fs.readFileSync(path.join(containerDir(rt, id), CONFIG_FILE), 'utf8')) as Spec
  } catch (err) {
    throw wrapSysError(err, {verb, id, step: 'read saved config'})
  }
}

/** Reads state.json; a missing directory is runc's "container does not exist". */
export function loadFacts(rt: Runtime, id: string, verb: string): ContainerFacts {
  validateId(id, verb)
  let text: string
  try {
    text = fs.readFileSync(path.join(containerDir(rt, id), STATE_FILE), 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new OcirtError(SENTINEL.notExist, {verb, id})
    throw wrapSysError(err, {verb, id, step: 'read state'})
  }
  let facts: ContainerFacts
  try {
    facts = JSON.parse(text) as ContainerFacts
  } catch (err) {
    throw new OcirtError(`state file is corrupt: ${(err as Error).message}`, {verb, id, step: 'read state'})
  }
  // another runtime's state.json (runc keeps one under the same name) or a damaged one: say so, instead of
  // failing later on a missing field
  const f = facts as Partial<ContainerFacts> | null
  if (typeof f !== 'object' || f === null || typeof f.pid !== 'number' || typeof f.cgroup?.paths !== 'object' || f.cgroup.paths === null) {
    throw new OcirtError('state file is corrupt or not ocirt\'s (no pid or cgroup paths)', {verb, id, step: 'read state'})
  }
  return facts
}

/** The ids under the root that have a state directory (sorted, like runc's list). */
export function listIds(rt: Runtime): string[] {
  let names: fs.Dirent[]
  try {
    names = fs.readdirSync(rt.root, {withFileTypes: true})
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw wrapSysError(err, {verb: 'list', step: `read ${rt.root}`})
  }
  return names.filter((d) => d.isDirectory() && ID_PATTERN.test(d.name)).map((d) => d.name).sort()
}

export function hasStateFile(rt: Runtime, id: string): boolean {
  return fs.existsSync(path.join(containerDir(rt, id), STATE_FILE))
}

export function removeContainerDir(rt: Runtime, id: string): void {
  const dir = containerDir(rt, id)
  try {
    removeTree(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    fs.rmSync(dir, {recursive: true, force: true})
  }
}

/**
 * A state directory holds a few files and the lock directory: unlink and rmdir them directly. Every delete comes
 * here, and fs.rmSync's recursive mode first loads Node's rimraf module (a few ms of a ~60 ms command).
 */
function removeTree(dir: string, top = true): void {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(dir, {withFileTypes: true})
  } catch (err) {
    if (!top && (err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  for (const e of entries) {
    const p = path.join(dir, e.name)
    try {
      if (e.isDirectory()) removeTree(p, false)
      else fs.unlinkSync(p)
    } catch (err) {
      // gone meanwhile (a lock waiter's temp file, an owner file): that is what we wanted
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  fs.rmdirSync(dir)
}

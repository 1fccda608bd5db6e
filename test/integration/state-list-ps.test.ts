// state, list and ps against runc's output shapes: the list table (header as runc prints it, columns
// aligned), list -q, list -f json (runc's keys), ps -f json (host pids of every process), the ps table.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import {makeBundle} from '../helpers/bundle'
import {assertOk, ocirt} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, containerBundle, expectFail, stateOf, waitFor, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

/** Two containers under one root: `a` created, `b` running (probe fork-sleep 2: three processes). */
async function twoContainers(t: Parameters<typeof containerBundle>[0]): Promise<[TestBundle, TestBundle]> {
  const a = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}, annotations: {'org.test': 'yes'}})
  // one Cleanup for both, so every container is deleted before any directory (a.root) is removed
  const b = containerBundle(a.cleanup, {process: {args: [PROBE, 'fork-sleep', '2']}})
  b.root = a.root
  b.cleanup.container(b.id, a.root)
  assertOk(await a.ocirt(['create', '--bundle', a.dir, a.id]), 'create a')
  assertOk(await a.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d b')
  return [a, b]
}

function runcOut(args: string[]): string {
  const r = spawnSync('runc', args, {encoding: 'utf8', timeout: 30_000})
  assert.equal(r.status, 0, `runc ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** Start offsets of the whitespace-separated cells of a table line. */
function cellStarts(line: string): number[] {
  return [...line.matchAll(/\S+/g)].map((m) => m.index!)
}

test('list prints runc\'s table: the same header, aligned columns, one row per container', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'runc')) return
  const empty = makeBundle(t)
  const mine = assertOk(await ocirt(['list'], {root: empty.root}), 'list')
  assert.equal(mine.stdout, runcOut(['--root', empty.root, 'list']), 'header of an empty list, byte for byte')

  const [a, b] = await twoContainers(t)
  const lines = assertOk(await a.ocirt(['list']), 'list').stdout.split('\n').filter(Boolean)
  assert.deepEqual(lines[0].split(/\s+/), ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'])
  assert.equal(lines.length, 3)
  const header = cellStarts(lines[0])
  for (const line of lines.slice(1)) assert.deepEqual(cellStarts(line), header, `aligned with the header: ${line}`)
  const rows = Object.fromEntries(lines.slice(1).map((l) => [l.split(/\s+/)[0], l.split(/\s+/)]))
  for (const [c, status] of [[a, 'created'], [b, 'running']] as const) {
    const st = await stateOf(c)
    assert.deepEqual(rows[c.id], [c.id, String(st.pid), status, c.dir, st.created, 'root'])
  }
})

test('list -q prints the ids, sorted; list -f json the state of each, with runc\'s keys', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'runc')) return
  const [a, b] = await twoContainers(t)
  const q = assertOk(await a.ocirt(['list', '-q']), 'list -q').stdout
  assert.equal(q, [a.id, b.id].sort().map((id) => id + '\n').join(''))

  const list: Record<string, unknown>[] = assertOk(await a.ocirt(['list', '--format', 'json']), 'list -f json').json()
  assert.deepEqual(list.map((s) => s.id), [a.id, b.id].sort())
  for (const c of [a, b]) {
    const entry = list.find((s) => s.id === c.id)!
    assert.deepEqual({...entry, owner: ''}, {...(await stateOf(c)), owner: ''}, 'list entry = state (owner aside: runc state leaves it empty)')
    assert.equal(entry.owner, 'root')
  }

  // runc's keys and order, from a runc container of the same bundle
  const r = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}, annotations: {'org.test': 'yes'}})
  r.id += '-runc' // not the id the cleanup deletes with ocirt: runc's state dir is runc's to remove
  r.cleanup.add(`runc delete ${r.id}`, () => spawnSync('runc', ['--root', r.root, 'delete', '-f', r.id], {stdio: 'ignore'}))
  const created = spawnSync('runc', ['--root', r.root, 'create', '--bundle', r.dir, r.id], {stdio: 'ignore', timeout: 30_000})
  assert.equal(created.status, 0, 'runc create')
  const theirs = JSON.parse(runcOut(['--root', r.root, 'list', '-f', 'json']))[0]
  assert.deepEqual(Object.keys(list.find((s) => s.id === a.id)!), Object.keys(theirs))
})

test('ps -f json gives the host pids of every process of the container', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const [a, b] = await twoContainers(t)
  const pids: number[] = await waitFor('three processes', async () => {
    const p: number[] = (await b.ocirt(['ps', '-f', 'json', b.id])).json()
    return p.length === 3 && p
  })
  const {pid} = await stateOf(b)
  assert.ok(pids.includes(pid), `the init ${pid} is among ${pids}`)
  for (const p of pids) {
    assert.ok(alive(p), `host pid ${p} exists`)
    assert.match(fs.readFileSync(`/proc/${p}/cgroup`, 'utf8'), new RegExp(`:${b.cgroupsPath}\n`), `pid ${p} is in the container's cgroup`)
    assert.equal(fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim(), 'probe')
  }
  const created: number[] = assertOk(await a.ocirt(['ps', '--format', 'json', a.id]), 'ps of a created container').json()
  assert.deepEqual(created, [(await stateOf(a)).pid])
})

test('ps prints the host ps table restricted to the container, and passes ps options on', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const [, b] = await twoContainers(t)
  const pids: number[] = await waitFor('three processes', async () => {
    const p: number[] = (await b.ocirt(['ps', '-f', 'json', b.id])).json()
    return p.length === 3 && p
  })
  const table = assertOk(await b.ocirt(['ps', b.id]), 'ps').stdout.split('\n').filter(Boolean)
  const cols = table[0].trim().split(/\s+/)
  assert.deepEqual(cols.slice(0, 3), ['UID', 'PID', 'PPID'], `ps -ef header: ${table[0]}`)
  const pidCol = cols.indexOf('PID')
  assert.deepEqual(table.slice(1).map((l) => Number(l.trim().split(/\s+/)[pidCol])).sort(), [...pids].sort())

  const custom = assertOk(await b.ocirt(['ps', b.id, '-o', 'pid,comm']), 'ps ID -o pid,comm').stdout.split('\n').filter(Boolean)
  assert.deepEqual(custom[0].trim().split(/\s+/), ['PID', 'COMMAND'])
  assert.deepEqual(custom.slice(1).map((l) => l.trim().split(/\s+/)[1]), ['probe', 'probe', 'probe'])
})

test('ps of a stopped container succeeds with nothing listed, as runc; unknown ids fail', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'true']}})
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  await waitFor('stopped', async () => (await stateOf(b)).status === 'stopped')
  // runc 1.1 prints a nil slice (`null`) and the bare ps header, exit 0
  assert.equal(assertOk(await b.ocirt(['ps', '-f', 'json', b.id]), 'ps -f json').stdout, 'null\n')
  const table = assertOk(await b.ocirt(['ps', b.id]), 'ps').stdout.split('\n').filter(Boolean)
  assert.equal(table.length, 1, `header only: ${table}`)
  expectFail(await b.ocirt(['state', 'no-such-' + b.id]), 'container does not exist')
  expectFail(await b.ocirt(['ps', 'no-such-' + b.id]), 'container does not exist')
})

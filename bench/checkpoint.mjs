#!/usr/bin/env node
// bench/checkpoint: checkpoint and restore times of ocirt beside runc, in the same run, on the same kind of
// container: `probe memhold MIB 0` (MIB of memory pattern, nothing dirtied) for each size in BENCH_SIZES. Each
// round is `checkpoint` (timed) then `restore -d` (timed) of the same container, ocirt's and runc's rounds
// alternating (and which goes first, too) so both see the same load; the sum is the time the container is not
// running (its downtime in a live migration without the transfer). Beside the wall times, CRIU's own run is read
// from the last timestamp of its log (dump.log / restore.log, seconds since criu started): wall time minus that
// is the runtime's overhead over the CRIU call (its own setup and teardown, its start, criu's exec). One more
// `--debug` round of ocirt shows where its share goes. Prints medians, ocirt/runc ratios and the
// load average before and after; `--json FILE` saves them.
// Needs root, runc, CRIU 4 (scripts/install-criu.sh) and a built tree (npm run build; scripts/setup.sh fixtures).
//   BENCH_RUNS=7 BENCH_SIZES=64,256,1024 node bench/checkpoint.mjs
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const OCIRT = path.join(REPO, 'bin', 'ocirt')
const ROOTFS = path.join(REPO, 'test', 'fixtures', 'build', 'rootfs')
const runs = Number(process.env.BENCH_RUNS ?? 7)
const sizes = (process.env.BENCH_SIZES ?? '64,256,1024').split(',').map(Number)
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-bench-cr-'))
const rt = {runc: ['runc', '--root', path.join(work, 'runc-root')], ocirt: [OCIRT, '--root', path.join(work, 'ocirt-root')]}

function bundleFor(name, mib) {
  const dir = path.join(work, `${name}-${mib}`)
  fs.mkdirSync(dir)
  must(['runc', 'spec', '-b', dir], 'runc spec')
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))
  spec.root = {path: ROOTFS, readonly: true}
  spec.process.terminal = false
  spec.process.args = ['/bin/probe', 'memhold', String(mib), '0']
  spec.linux.cgroupsPath = `/ocirt-bench-cr-${process.pid}-${name}-${mib}`
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec))
  return dir
}

// stderr goes to a file, not a pipe: a detached container inherits it and would hold a pipe open forever. A
// container is started with /dev/null only: runc cannot checkpoint one whose stdio is a host file (CRIU: "Can't
// lookup mount=N for fd=2"), which ocirt declares external (docs/checkpoint.md).
function must(argv, what, quiet = false) {
  const errFile = path.join(work, 'stderr')
  const err = quiet ? 'ignore' : fs.openSync(errFile, 'w')
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', err]})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (!quiet) fs.closeSync(err)
  if (r.status !== 0) throw new Error(`${what}: \`${argv.join(' ')}\` exited ${r.status}: ${quiet ? '' : fs.readFileSync(errFile, 'utf8')}`)
  return ms
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** CRIU's own duration (ms): the largest "(SS.uuuuuu)" timestamp of its log. */
function criuMs(log) {
  let max = 0
  for (const m of fs.readFileSync(log, 'utf8').matchAll(/^\((\d+)\.(\d{6})\)/gm)) max = Math.max(max, Number(m[1]) * 1000 + Number(m[2]) / 1000)
  return max
}

/**
 * Where ocirt's own time goes, from one extra `--debug` round (not in the medians): debug lines carry ms since
 * ocirt's code started, so `run criu` is the time before criu, `exited ... after N ms` criu from spawn to exit
 * (its exec included), the last line minus both the time after; the rest of the wall time is Node's start
 * (before ocirt's code runs) and exit.
 */
function profile(argv, what) {
  const errFile = path.join(work, 'profile')
  const err = fs.openSync(errFile, 'w')
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], ['--debug', ...argv.slice(1)], {stdio: ['ignore', 'ignore', err]})
  const wall = Number(process.hrtime.bigint() - t0) / 1e6
  fs.closeSync(err)
  const text = fs.readFileSync(errFile, 'utf8')
  if (r.status !== 0) throw new Error(`${what}: exited ${r.status}: ${text}`)
  const stamps = [...text.matchAll(/debug: \+([\d.]+)ms (.*)/g)].map((m) => ({ms: Number(m[1]), msg: m[2]}))
  const spawned = stamps.find((x) => x.msg.startsWith('run '))
  const exited = stamps.find((x) => / exited \S+ after \d+ ms/.test(x.msg))
  const criu = Number(/after (\d+) ms/.exec(exited.msg)[1])
  const end = stamps.at(-1).ms
  return {wall, before: spawned.ms, criu, after: end - exited.ms, node: wall - end}
}

const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ')
const results = []
const profiles = []
const live = []
const loadBefore = loadavg()
// what Node costs by itself on this machine now: the floor under "Node start + exit"
const nodeAlone = median(Array.from({length: 5}, () => must([process.execPath, '-e', '0'], 'node -e 0')))
try {
  for (const mib of sizes) {
    const ids = {}
    const bundles = {}
    const times = {}
    for (const [name, base] of Object.entries(rt)) {
      bundles[name] = bundleFor(name, mib)
      ids[name] = `bench-cr-${mib}`
      must([...base, 'run', '-d', '-b', bundles[name], ids[name]], `${name} run`, true)
      live.push([base, ids[name]])
      times[name] = {ck: [], rs: [], ckCriu: [], rsCriu: []}
    }
    spawnSync('sleep', [String(0.5 + mib / 1024)]) // the pattern is written before the container idles
    for (let i = 0; i < runs; i++) {
      // who goes first alternates: the one after pays for the other's freshly written (and deleted) images
      const order = i % 2 ? Object.entries(rt).reverse() : Object.entries(rt)
      for (const [name, base] of order) {
        const img = path.join(work, `${name}-${mib}-img-${i}`)
        const t = times[name]
        t.ck.push(must([...base, 'checkpoint', '--image-path', img, ids[name]], `${name} checkpoint`))
        t.ckCriu.push(criuMs(path.join(img, 'dump.log')))
        t.rs.push(must([...base, 'restore', '-d', '--image-path', img, '-b', bundles[name], ids[name]], `${name} restore`))
        t.rsCriu.push(criuMs(path.join(img, 'restore.log')))
        fs.rmSync(img, {recursive: true, force: true})
      }
    }
    {
      const img = path.join(work, `profile-${mib}`)
      const ck = profile([...rt.ocirt, 'checkpoint', '--image-path', img, ids.ocirt], 'ocirt checkpoint --debug')
      const rs = profile([...rt.ocirt, 'restore', '-d', '--image-path', img, '-b', bundles.ocirt, ids.ocirt], 'ocirt restore --debug')
      fs.rmSync(img, {recursive: true, force: true})
      profiles.push({mib, checkpoint: ck, restore: rs})
    }
    for (const name of Object.keys(rt)) {
      const t = times[name]
      results.push({
        mib, runtime: name,
        checkpoint_ms: median(t.ck), restore_ms: median(t.rs), downtime_ms: median(t.ck.map((c, i) => c + t.rs[i])),
        criu_dump_ms: median(t.ckCriu), criu_restore_ms: median(t.rsCriu),
        checkpoint_overhead_ms: median(t.ck.map((c, i) => c - t.ckCriu[i])),
        restore_overhead_ms: median(t.rs.map((r, i) => r - t.rsCriu[i])),
      })
    }
    for (const [base, id] of live.splice(0)) spawnSync(base[0], [...base.slice(1), 'delete', '-f', id])
  }
} finally {
  for (const [base, id] of live) spawnSync(base[0], [...base.slice(1), 'delete', '-f', id])
  fs.rmSync(work, {recursive: true, force: true})
}
const loadAfter = loadavg()

const f = (x) => x.toFixed(0)
console.log(`\n${runs} rounds each, alternating; medians (ms); load average ${loadBefore} before, ${loadAfter} after (${os.cpus().length} cpus)\n`)
console.log('| memory | runtime | checkpoint | restore -d | checkpoint + restore | criu dump | criu restore | overhead: checkpoint | overhead: restore |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(`| ${r.mib} MiB | ${r.runtime} | ${f(r.checkpoint_ms)} | ${f(r.restore_ms)} | ${f(r.downtime_ms)} | ${f(r.criu_dump_ms)} | ${f(r.criu_restore_ms)} | ${f(r.checkpoint_overhead_ms)} | ${f(r.restore_overhead_ms)} |`)
}
console.log('\nocirt / runc (medians)\n')
console.log('| memory | checkpoint | restore -d | checkpoint + restore |')
console.log('|---|---|---|---|')
for (const mib of sizes) {
  const o = results.find((r) => r.mib === mib && r.runtime === 'ocirt')
  const r = results.find((x) => x.mib === mib && x.runtime === 'runc')
  console.log(`| ${mib} MiB | ${(o.checkpoint_ms / r.checkpoint_ms).toFixed(2)} | ${(o.restore_ms / r.restore_ms).toFixed(2)} | ${(o.downtime_ms / r.downtime_ms).toFixed(2)} |`)
}
console.log(`\nocirt --debug, one round (ms): its code before criu, criu from spawn to exit, its code after, Node start and exit (\`node -e 0\` alone: ${f(nodeAlone)} ms)\n`)
console.log('| memory | verb | wall | before criu | criu (spawn to exit) | after criu | Node start + exit |')
console.log('|---|---|---|---|---|---|---|')
for (const p of profiles) {
  for (const verb of ['checkpoint', 'restore']) {
    const x = p[verb]
    console.log(`| ${p.mib} MiB | ${verb} | ${f(x.wall)} | ${f(x.before)} | ${f(x.criu)} | ${f(x.after)} | ${f(x.node)} |`)
  }
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({date: new Date().toISOString(), runs, loadBefore, loadAfter, nodeAlone, results, profiles}, null, 2))

#!/usr/bin/env node
// bench/checkpoint: checkpoint and restore times of ocirt beside runc, on the same kind of container: `probe
// memhold MIB 0` (MIB of memory pattern, nothing dirtied) for each size in BENCH_SIZES. Each round is
// `checkpoint` (timed) then `restore -d` (timed) of the same container; the sum is the time the container is
// not running (its downtime in a live migration without the transfer). Prints medians; `--json FILE` saves them.
// Needs root, runc, CRIU 4 (scripts/install-criu.sh) and a built tree (npm run build; scripts/setup.sh fixtures).
//   BENCH_RUNS=10 BENCH_SIZES=16,256 node bench/checkpoint.mjs
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const OCIRT = path.join(REPO, 'bin', 'ocirt')
const ROOTFS = path.join(REPO, 'test', 'fixtures', 'build', 'rootfs')
const runs = Number(process.env.BENCH_RUNS ?? 10)
const sizes = (process.env.BENCH_SIZES ?? '16,256').split(',').map(Number)
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

const results = []
const live = []
try {
  for (const mib of sizes) {
    for (const [name, base] of Object.entries(rt)) {
      const bundle = bundleFor(name, mib)
      const id = `bench-cr-${mib}`
      must([...base, 'run', '-d', '-b', bundle, id], `${name} run`, true)
      live.push([base, id])
      spawnSync('sleep', ['0.5'])
      const ck = []
      const rs = []
      for (let i = 0; i < runs; i++) {
        const img = path.join(work, `${name}-${mib}-img-${i}`)
        ck.push(must([...base, 'checkpoint', '--image-path', img, id], `${name} checkpoint`))
        rs.push(must([...base, 'restore', '-d', '--image-path', img, '-b', bundle, id], `${name} restore`))
        fs.rmSync(img, {recursive: true, force: true})
      }
      const down = ck.map((c, i) => c + rs[i])
      results.push({mib, runtime: name, checkpoint_ms: median(ck), restore_ms: median(rs), downtime_ms: median(down)})
    }
  }
} finally {
  for (const [base, id] of live) spawnSync(base[0], [...base.slice(1), 'delete', '-f', id])
  fs.rmSync(work, {recursive: true, force: true})
}

console.log(`\n${runs} rounds each, medians (ms)\n`)
console.log('| memory | runtime | checkpoint | restore -d | checkpoint + restore |')
console.log('|---|---|---|---|---|')
for (const r of results) {
  console.log(`| ${r.mib} MiB | ${r.runtime} | ${r.checkpoint_ms.toFixed(0)} | ${r.restore_ms.toFixed(0)} | ${r.downtime_ms.toFixed(0)} |`)
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({date: new Date().toISOString(), runs, results}, null, 2))

#!/usr/bin/env node
// bench/seccomp: what a seccomp profile costs on the create path, ocirt beside runc in the same run (hyperfine):
// `run` of /bin/probe true without a profile and with the Docker-style default profile of the tests
// (test/fixtures/seccomp-docker-default.json: 355 calls, three architectures, argument conditions), and `exec`
// into a running container without and with that profile. Then the compiler alone, in one process: the first compile
// (koffi and libseccomp loaded) and warm ones. Prints medians; `--json FILE` saves them.
// Needs root, hyperfine, runc and a built tree (npm run build; test fixtures from scripts/setup.sh).
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const OCIRT = path.join(REPO, 'bin', 'ocirt')
const ROOTFS = path.join(REPO, 'test', 'fixtures', 'build', 'rootfs')
const PROFILE = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'seccomp-docker-default.json'), 'utf8'))
const runs = Number(process.env.BENCH_RUNS ?? 20)
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-bench-seccomp-'))
function bundle(name, edit) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir)
  execFileSync('runc', ['spec', '-b', dir])
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))
  spec.root = {path: ROOTFS, readonly: true}
  spec.process.terminal = false
  spec.process.args = ['/bin/probe', 'true']
  edit?.(spec)
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec))
  return dir
}
const plain = bundle('plain')
const filtered = bundle('filtered', (s) => (s.linux.seccomp = PROFILE))
const sleepingPlain = bundle('sleeping-plain', (s) => (s.process.args = ['/bin/probe', 'sleep', '600']))
const sleeping = bundle('sleeping', (s) => {
  s.linux.seccomp = PROFILE
  s.process.args = ['/bin/probe', 'sleep', '600']
})

const rt = {runc: ['runc', '--root', path.join(work, 'runc-root')], ocirt: [OCIRT, '--root', path.join(work, 'ocirt-root')]}
const q = (a) => a.map((x) => `'${x}'`).join(' ')
const cases = []
for (const [name, base] of Object.entries(rt)) {
  cases.push({group: 'run /bin/true, no profile', name, cmd: `${q(base)} run -b ${plain} bench-plain`})
  cases.push({group: 'run /bin/true, default profile', name, cmd: `${q(base)} run -b ${filtered} bench-filtered`})
  execFileSync(base[0], [...base.slice(1), 'run', '-d', '-b', sleepingPlain, 'bench-exec-plain'], {stdio: 'inherit'})
  execFileSync(base[0], [...base.slice(1), 'run', '-d', '-b', sleeping, 'bench-exec'], {stdio: 'inherit'})
  cases.push({group: 'exec /bin/probe true, no profile', name, cmd: `${q(base)} exec bench-exec-plain /bin/probe true`})
  cases.push({group: 'exec /bin/probe true, default profile', name, cmd: `${q(base)} exec bench-exec /bin/probe true`})
}

const ROUND = 5
const samples = cases.map(() => [])
try {
  for (let round = 0; round * ROUND < runs; round++) {
    const out = path.join(work, 'h.json')
    const r = spawnSync('hyperfine', ['-N', '-w', '1', '-r', String(ROUND), '--export-json', out, ...cases.map((c) => c.cmd)], {stdio: ['ignore', 'ignore', 'inherit']})
    if (r.status !== 0) throw new Error('hyperfine failed')
    JSON.parse(fs.readFileSync(out, 'utf8')).results.forEach((res, i) => samples[i].push(...res.times))
  }
} finally {
  for (const base of Object.values(rt)) for (const id of ['bench-exec', 'bench-exec-plain']) spawnSync(base[0], [...base.slice(1), 'delete', '-f', id])
  fs.rmSync(work, {recursive: true, force: true})
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = cases.map((c, i) => ({...c, runs: samples[i].length, median_ms: median(samples[i]) * 1000}))
const med = (group, name) => results.find((r) => r.group === group && r.name === name)?.median_ms
console.log(`\n| case | runc (ms) | ocirt (ms) | ocirt / runc |`)
console.log(`|---|---|---|---|`)
for (const g of [...new Set(cases.map((c) => c.group))]) {
  const a = med(g, 'runc')
  const b = med(g, 'ocirt')
  console.log(`| ${g} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}x |`)
}

// the compiler alone: a fresh process per first compile (koffi + libseccomp load), then warm compiles
const require = createRequire(import.meta.url)
const first = []
for (let i = 0; i < 10; i++) {
  // the modules are loaded first (in the bundle they are part of ocirt's start-up either way)
  const script = `const {compileSeccomp} = require(${JSON.stringify(path.join(REPO, 'dist/src/core/seccomp/compile'))});
    const profile = ${JSON.stringify(PROFILE)}; const t0 = process.hrtime.bigint();
    compileSeccomp(profile, {verb: 'create', id: 'b'}); process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6))`
  first.push(Number(execFileSync(process.execPath, ['-e', script], {encoding: 'utf8'})))
}
const {compileSeccomp} = require(path.join(REPO, 'dist/src/core/seccomp/compile'))
const warm = []
let insns = 0
for (let i = 0; i < 50; i++) {
  const t0 = process.hrtime.bigint()
  insns = compileSeccomp(PROFILE, {verb: 'create', id: 'b'}).bpf.length / 8
  warm.push(Number(process.hrtime.bigint() - t0) / 1e6)
}
console.log(`\ncompile of the default profile (${insns} BPF instructions): first in a process ${median(first).toFixed(1)} ms (koffi and libseccomp loaded), warm ${median(warm).toFixed(1)} ms`)
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({date: new Date().toISOString(), runs, results, compile: {first_ms: median(first), warm_ms: median(warm), insns}}, null, 2))

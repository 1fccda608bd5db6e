#!/usr/bin/env node
// bench/lifecycle: ocirt beside runc in the same run (hyperfine), on the same bundle: `run` of /bin/true,
// create+start+delete, `state`, `exec` of /bin/probe true and `ps` of a running container, and bare `node -e 0`. Prints
// medians and ratios; `--json FILE` saves them.
// Needs root, hyperfine, runc and a built tree (npm run build; test fixtures from scripts/setup.sh).
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const OCIRT = path.join(REPO, 'bin', 'ocirt')
const ROOTFS = path.join(REPO, 'test', 'fixtures', 'build', 'rootfs')
const runs = Number(process.env.BENCH_RUNS ?? 30)
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined

const loadBefore = os.loadavg()
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-bench-'))
const bundle = path.join(work, 'bundle')
fs.mkdirSync(bundle)
execFileSync('runc', ['spec', '-b', bundle])
const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'))
spec.root = {path: ROOTFS, readonly: true}
spec.process.terminal = false
spec.process.args = ['/bin/probe', 'true']
fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec))
const sleepBundle = path.join(work, 'sleep-bundle')
fs.mkdirSync(sleepBundle)
fs.writeFileSync(path.join(sleepBundle, 'config.json'), JSON.stringify({...spec, process: {...spec.process, args: ['/bin/probe', 'sleep', '600']}}))

// each runtime its own container ids, hence its own cgroups (no cgroupsPath: /<id>), so that neither sees the
// other's processes (ps) or removes the other's cgroup (delete)
const rt = {runc: ['runc', '--root', path.join(work, 'runc-root')], ocirt: [OCIRT, '--root', path.join(work, 'ocirt-root')]}
const q = (a) => a.map((x) => `'${x}'`).join(' ')
const cases = []
for (const [name, base] of Object.entries(rt)) {
  cases.push({group: 'run /bin/true', name, cmd: `${q(base)} run -b ${bundle} bench-run-${name}`})
  cases.push({group: 'create+start+delete', name, cmd: `sh -c "${q(base)} create -b ${bundle} bench-csd-${name} >/dev/null && ${q(base)} start bench-csd-${name} && ${q(base)} delete -f bench-csd-${name}"`})
}
// a long-running container per runtime for `state` and `exec`
for (const [name, base] of Object.entries(rt)) {
  execFileSync(base[0], [...base.slice(1), 'run', '-d', '-b', sleepBundle, `bench-state-${name}`], {stdio: 'inherit'})
  cases.push({group: 'state', name, cmd: `${q(base)} state bench-state-${name}`})
  cases.push({group: 'exec /bin/probe true', name, cmd: `${q(base)} exec bench-state-${name} /bin/probe true`})
  cases.push({group: 'ps', name, cmd: `${q(base)} ps bench-state-${name}`})
  // SIGCONT: delivered, and the container runs on for the next round
  cases.push({group: 'kill', name, cmd: `${q(base)} kill bench-state-${name} CONT`})
  // `delete` of a stopped container, as an engine calls it after the process exited: each run's container is
  // made (run -d of /bin/true, then waited for until stopped) by the untimed prepare command
  const made = `${q(base)} run -d -b ${bundle} bench-del-${name} && until ${q(base)} state bench-del-${name} | grep -q stopped; do sleep 0.01; done`
  cases.push({group: 'delete', name, cmd: `${q(base)} delete bench-del-${name}`, prepare: `sh -c "${made.replace(/"/g, '\\"')}"`})
}
cases.push({group: 'node -e 0', name: 'node (env as given)', cmd: 'node -e 0'})
cases.push({group: 'node -e 0', name: 'node (no NODE_EXTRA_CA_CERTS)', cmd: 'env -u NODE_EXTRA_CA_CERTS node -e 0'})

// Rounds of a few runs of every case, one hyperfine call per round, so that the machine's drift (other
// load, CPU frequency) spreads over all cases alike instead of favouring whichever ran first.
const ROUND = 5
const samples = cases.map(() => [])
try {
  for (let round = 0; round * ROUND < runs; round++) {
    const out = path.join(work, 'h.json')
    // one prepare per command (hyperfine pairs them in order); `true` where nothing needs making. No warm-up:
    // a delete's container exists once per prepare.
    const prepares = cases.flatMap((c) => ['--prepare', c.prepare ?? 'true'])
    const r = spawnSync('hyperfine', ['-N', '-w', '0', '-r', String(ROUND), ...prepares, '--export-json', out, ...cases.map((c) => c.cmd)], {stdio: ['ignore', 'ignore', 'inherit']})
    if (r.status !== 0) throw new Error('hyperfine failed')
    JSON.parse(fs.readFileSync(out, 'utf8')).results.forEach((res, i) => samples[i].push(...res.times))
  }
} finally {
  for (const [name, base] of Object.entries(rt)) for (const id of ['state', 'del']) spawnSync(base[0], [...base.slice(1), 'delete', '-f', `bench-${id}-${name}`])
  fs.rmSync(work, {recursive: true, force: true})
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] * 1000
const results = cases.map((c, i) => ({...c, runs: samples[i].length, median_ms: median(samples[i])}))
const med = (group, name) => results.find((r) => r.group === group && r.name === name)?.median_ms
const nodeBare = med('node -e 0', 'node (no NODE_EXTRA_CA_CERTS)')
console.log(`\n| case | runc (ms) | ocirt (ms) | ocirt / runc | ocirt - bare node (ms) |`)
console.log(`|---|---|---|---|---|`)
for (const g of ['run /bin/true', 'create+start+delete', 'state', 'exec /bin/probe true', 'ps', 'kill', 'delete']) {
  const a = med(g, 'runc')
  const b = med(g, 'ocirt')
  console.log(`| ${g} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}x | ${(b - nodeBare).toFixed(1)} |`)
}
console.log(`| node -e 0 (as given / without NODE_EXTRA_CA_CERTS) | | ${med('node -e 0', 'node (env as given)').toFixed(1)} / ${nodeBare.toFixed(1)} | | |`)
// the machine may be shared: its load average (1, 5, 15 min) before and after says how much to trust the numbers
const load = {before: loadBefore.map((x) => +x.toFixed(2)), after: os.loadavg().map((x) => +x.toFixed(2)), cpus: os.cpus().length}
console.log(`load average before ${load.before.join(' ')}, after ${load.after.join(' ')} (${load.cpus} CPUs)`)
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({date: new Date().toISOString(), runs, load, results}, null, 2))

#!/usr/bin/env node
// bench/migrate: live migration of a `probe memtick MIB 32 /out/file` container (MIB of memory pattern, 32 MiB/s
// of it dirtied, a line "count=N ms=<wall clock>" every 10 ms into a data dir bind-mounted from its bundle) from
// host A to host B of one test/helpers/remote-host.ts pair (A: the root netns, B: a netns with its own sshd), for
// each size in BENCH_SIZES, three ways, side by side in the same run:
//   ocirt-auto        ocirt migrate (auto: post-copy on this machine)
//   ocirt-stop-copy   ocirt migrate --mode stop-copy
//   runc              the plain pipeline: tar the bundle to B (before the freeze), runc checkpoint, one OpenSSH
//                     session carrying the images and the data file (tar) and running runc restore -d on B
// Measured per run, from the container's own lines (source then target; one wall clock):
//   downtime   the largest gap between consecutive lines from the command's start to the first line on the target
//   stall      the largest gap between the target's lines after its first one, minus the 10 ms tick, over the
//              command's post-resume part and 1 s after it; and how many of those gaps exceed 50 ms
//   total      wall time of the command(s);  bytes  ocirt: its --json summary; runc: images + bundle + data file
//   wire       bytes that crossed the veth pair during the move, both ways (SSH/TLS framing included): the only
//              count that sees pages sent straight over CRIU's TLS, which ocirt's summary cannot count
// A run whose counts do not go on +1 across the move, or whose pattern broke, is reported as failed, not as a number.
// Also measured once: what a new page costs here (probe touchrate), which every restore pays for the whole memory.
// Link time = wire bytes / the link's throughput (BENCH_LINK_MIB of /dev/zero through OpenSSH to `cat >/dev/null` on B).
// BENCH_OCIRT=PATH runs that ocirt on both hosts instead of bin/ocirt (a wrapper that profiles it, say).
// BENCH_DEBUG_DIR=DIR runs ocirt migrate with --debug and keeps each run's stderr there (a step profile per run).
// Needs root, runc, CRIU, sshd, a built tree (npm run build) and the fixtures (scripts/setup.sh).
//   BENCH_RUNS=3 BENCH_SIZES=64,256,1024 BENCH_CASES=ocirt-auto,ocirt-stop-copy,runc node bench/migrate.mjs [--json FILE]
import {spawn, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import {createRequire} from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const {makeHostPair} = require(path.join(REPO, 'dist/test/helpers/remote-host.js'))
const {Cleanup} = require(path.join(REPO, 'dist/test/helpers/cleanup.js'))
const OCIRT = process.env.BENCH_OCIRT ?? path.join(REPO, 'bin', 'ocirt')
const ROOTFS = path.join(REPO, 'test', 'fixtures', 'build', 'rootfs')

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const runs = Number(arg('--runs') ?? process.env.BENCH_RUNS ?? 3)
const sizes = (arg('--sizes') ?? process.env.BENCH_SIZES ?? '64,256,1024').split(',').map(Number)
const CASES = ['ocirt-auto', 'ocirt-stop-copy', 'runc']
const cases = (arg('--cases') ?? process.env.BENCH_CASES ?? CASES.join(',')).split(',')
const linkMib = Number(process.env.BENCH_LINK_MIB ?? 512)
const jsonOut = arg('--json') ?? path.join(REPO, 'bench', 'results-migrate.json')
const DIRTY_MIB_PER_S = 32
const TICK_MS = 10
const STALL_MS = 50
const SETTLE_MS = 1000 // lines on the target looked at after the command returned

for (const c of cases) if (!CASES.includes(c)) throw new Error(`unknown case ${c} (known: ${CASES.join(', ')})`)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)))

/** Runs argv to the end; stdout collected, stderr to a file (a detached container may inherit it). */
function run(argv, what, opts = {}) {
  const errFile = path.join(opts.dir ?? os.tmpdir(), `bench-migrate-${process.pid}.stderr`)
  const err = fs.openSync(errFile, 'w')
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'pipe', err], encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 300_000})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  fs.closeSync(err)
  const stderr = fs.readFileSync(errFile, 'utf8')
  fs.rmSync(errFile, {force: true})
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${what}: \`${argv.join(' ')}\` exited ${r.status ?? r.signal}: ${stderr.slice(-2000)}${r.stdout?.slice(-2000) ?? ''}`)
  }
  return {ms, stdout: r.stdout ?? '', stderr, status: r.status}
}

/** The same, without blocking the event loop (so a signal can still end the run). */
function runAsync(argv, what, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const errFile = path.join(os.tmpdir(), `bench-migrate-${process.pid}-${Math.random().toString(36).slice(2)}.stderr`)
    const err = fs.openSync(errFile, 'w')
    const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', err]})
    fs.closeSync(err)
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    // a hung step ends the run as failed instead of the whole bench
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000)
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      const stderr = fs.readFileSync(errFile, 'utf8')
      fs.rmSync(errFile, {force: true})
      if (code !== 0 && !opts.allowFail) reject(new Error(`${what}: exited ${code ?? signal}: ${stderr.slice(-3000)}`))
      else resolve({ms, stdout, stderr, status: code})
    })
  })
}

/** {count, ms} of each line; `broken` if the probe said its pattern broke. */
function readLines(file) {
  let text = ''
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return {lines: [], broken: false}
  }
  const lines = [...text.matchAll(/^count=(\d+) ms=(\d+)$/gm)].map((m) => ({count: Number(m[1]), ms: Number(m[2])}))
  return {lines, broken: text.includes('pattern=broken')}
}

const duBytes = (p) => Number(run(['du', '-sb', p], 'du').stdout.split('\t')[0])

/** A bundle in `dir`: its own rootfs copy, data dir at /out, the memtick workload, no terminal, stdio /dev/null. */
function makeBundle(dir, mib, cgroupsPath, absoluteData) {
  fs.mkdirSync(path.join(dir, 'data'), {recursive: true})
  run(['cp', '-a', ROOTFS, path.join(dir, 'rootfs')], 'copy rootfs')
  run(['runc', 'spec', '-b', dir], 'runc spec')
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))
  spec.root = {path: 'rootfs', readonly: false}
  spec.process.terminal = false
  spec.process.args = ['/bin/probe', 'memtick', String(mib), String(DIRTY_MIB_PER_S), '/out/file']
  spec.mounts.push({destination: '/out', type: 'bind', source: absoluteData ? path.join(dir, 'data') : 'data', options: ['rbind', 'rw']})
  spec.linux.cgroupsPath = cgroupsPath
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2))
}

async function waitFor(what, fn, ms = 60_000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (fn()) return
    await sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * The application's view of one move: source lines, then the target's lines after the last source count.
 * t0/t1: the command's start and end (wall clock ms).
 */
function analyse(srcFile, dstFile, t0, t1) {
  const src = readLines(srcFile)
  const dst = readLines(dstFile)
  const problems = []
  if (src.broken) problems.push('pattern broken on the source')
  if (dst.broken) problems.push('pattern broken on the target')
  const lastSrc = src.lines.at(-1)
  if (!lastSrc) return {problems: [...problems, 'no line on the source']}
  const after = dst.lines.filter((l) => l.count > lastSrc.count)
  if (after.length < 2) return {problems: [...problems, `no new lines on the target (last source count ${lastSrc.count})`]}
  if (after[0].count !== lastSrc.count + 1) problems.push(`target starts at count ${after[0].count}, source stopped at ${lastSrc.count}`)
  for (let i = 1; i < after.length; i++) {
    if (after[i].count !== after[i - 1].count + 1) {
      problems.push(`count jumps ${after[i - 1].count} -> ${after[i].count} on the target`)
      break
    }
  }
  // the target's file begins with a copy of the source's: its copied prefix must be the same lines
  const copied = dst.lines.filter((l) => l.count <= lastSrc.count)
  if (copied.length && copied.at(-1).count !== lastSrc.count) problems.push(`target's copy of the file ends at ${copied.at(-1).count}, source at ${lastSrc.count}`)

  // downtime: the largest gap from the command's start up to the first line on the target
  const before = src.lines.filter((l) => l.ms >= t0 - TICK_MS * 5)
  const seq = [...before, after[0]]
  let downtime = 0
  for (let i = 1; i < seq.length; i++) downtime = Math.max(downtime, seq[i].ms - seq[i - 1].ms)
  const boundary = after[0].ms - lastSrc.ms
  // stalls: the target's gaps after its first line, until SETTLE_MS after the command ended
  const window = after.filter((l) => l.ms <= t1 + SETTLE_MS)
  let stall = 0
  let over = 0
  for (let i = 1; i < window.length; i++) {
    const g = window[i].ms - window[i - 1].ms - TICK_MS
    stall = Math.max(stall, g)
    if (g > STALL_MS) over++
  }
  return {problems, downtimeMs: downtime, boundaryGapMs: boundary, stallMs: stall, stallsOver50: over,
    resumedAfterCommandMs: after[0].ms - t0, targetLines: window.length, lastSourceCount: lastSrc.count}
}

/** Link throughput: BENCH_LINK_MIB of /dev/zero through OpenSSH to `cat > /dev/null` on B (MiB/s, best of 3). */
function measureLink(ssh) {
  const tries = []
  for (let i = 0; i < 3; i++) {
    const r = run(['sh', '-c', `head -c ${linkMib}M /dev/zero | ${ssh.join(' ')} 'cat > /dev/null'`], 'link measure')
    tries.push(linkMib / (r.ms / 1000))
  }
  return {mibPerS: Math.max(...tries), tries: tries.map((x) => Number(x.toFixed(1)))}
}

/**
 * What new memory costs here: the restore fills every page of the container anew (post-copy: CRIU's lazy-pages
 * daemon copies each 4 MiB it fetched into fresh pages before it asks for the next), so a machine where that is
 * slow pays it on top of the link. `probe touchrate` on this host, best of three; and whether the kernel hands
 * freed memory back to a VM's host (virtio-balloon free page reporting), which makes every new page a host fault.
 */
function measureNewMemory(mib) {
  const tries = []
  for (let i = 0; i < 3; i++) {
    const out = run([path.join(ROOTFS, 'bin', 'probe'), 'touchrate', String(mib)], 'touchrate').stdout
    const m = /pages=(\d+) first_ms=([\d.]+) second_ms=([\d.]+)/.exec(out)
    if (!m) throw new Error(`probe touchrate: unexpected output ${JSON.stringify(out)}`)
    tries.push({pages: Number(m[1]), firstMs: Number(m[2]), secondMs: Number(m[3])})
  }
  const best = tries.reduce((a, b) => (b.firstMs < a.firstMs ? b : a))
  return {mib, usPerPage: (best.firstMs * 1000) / best.pages, usPerPageTouched: (best.secondMs * 1000) / best.pages, tries, pageReporting: freePageReporting()}
}

/** A virtio balloon offering VIRTIO_BALLOON_F_REPORTING (feature bit 5), with the kernel's settings for it. */
function freePageReporting() {
  const devices = '/sys/bus/virtio/devices'
  const read = (f) => fs.readFileSync(f, 'utf8').trim()
  const balloon = fs.existsSync(devices) && fs.readdirSync(devices).some((d) => {
    try {
      return read(path.join(devices, d, 'device')) === '0x0005' && read(path.join(devices, d, 'features'))[5] === '1'
    } catch {
      return false
    }
  })
  if (!balloon) return undefined
  const dir = '/sys/module/page_reporting/parameters'
  return fs.existsSync(dir) ? Object.fromEntries(fs.readdirSync(dir).map((f) => [f, read(path.join(dir, f))])) : {}
}

async function main() {
  if (process.getuid() !== 0) throw new Error('run as root (containers, network namespaces, CRIU)')
  for (const f of ['dist/ocirt-main.js', 'dist/test/helpers/remote-host.js', 'test/fixtures/build/rootfs/bin/probe']) {
    if (!fs.existsSync(path.join(REPO, f))) throw new Error(`${f} missing: run scripts/setup.sh (npm run build) first`)
  }
  const c = new Cleanup()
  let stopping
  const stop = () => (stopping ??= c.run())
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      console.error(`\nbench/migrate: ${sig}: cleaning up`)
      void stop().finally(() => process.exit(130))
    })
  }
  const loads = [{at: new Date().toISOString(), loadavg: loadavg()}]
  const loadTimer = setInterval(() => loads.push({at: new Date().toISOString(), loadavg: loadavg()}), 15_000)
  const results = []
  try {
    const pair = await makeHostPair(c)
    const work = path.join(pair.dir, 'bench')
    const A = {root: path.join(work, 'A', 'ocirt-root'), runc: path.join(work, 'A', 'runc-root'), bundles: path.join(work, 'A', 'bundles')}
    const B = {root: path.join(work, 'B', 'ocirt-root'), runc: path.join(work, 'B', 'runc-root'), bundles: path.join(work, 'B', 'bundles')}
    for (const d of [A.bundles, B.bundles]) fs.mkdirSync(d, {recursive: true})
    c.dir(work).cgroup('/ocirt-bench-mig') // the parent of every run's cgroups, in every hierarchy
    const b = pair.b
    const ssh = ['ssh', '-q', '-i', b.identityFile, '-o', `UserKnownHostsFile=${b.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes', '-p', String(b.port), `root@${b.host}`]
    const link = measureLink(ssh)
    console.log(`link A -> B (OpenSSH, ${linkMib} MiB of zeros): ${link.mibPerS.toFixed(0)} MiB/s (tries ${link.tries.join(', ')})`)
    const newMemory = measureNewMemory(Math.max(...sizes))
    console.log(`new memory here: ${newMemory.usPerPage.toFixed(2)} us a page on first touch, ${newMemory.usPerPageTouched.toFixed(2)} touched again (${newMemory.mib} MiB, best of 3)` +
      (newMemory.pageReporting ? `; this VM's balloon reports free pages (order ${newMemory.pageReporting.page_reporting_order ?? '?'}): freed memory goes back to its host` : ''))
    console.log(`load average at start: ${loadavg().join(' ')}`)

    let n = 0
    for (let round = 0; round < runs; round++) {
      for (const mib of sizes) {
        for (const kase of cases) {
          const id = `bm-${process.pid}-${n++}`
          const cgA = `/ocirt-bench-mig/${id}-a`
          const cgB = `/ocirt-bench-mig/${id}-b`
          const srcBundle = path.join(A.bundles, id)
          const dstBundle = path.join(B.bundles, id)
          const isRunc = kase === 'runc'
          const rtA = isRunc ? ['runc', '--root', A.runc] : [OCIRT, '--root', A.root]
          const rtB = isRunc ? ['runc', '--root', B.runc] : [OCIRT, '--root', B.root]
          c.dir(srcBundle).dir(dstBundle)
          c.add(`containers ${id}`, () => {
            spawnSync(rtA[0], [...rtA.slice(1), 'delete', '-f', id], {stdio: 'ignore'})
            spawnSync(rtB[0], [...rtB.slice(1), 'delete', '-f', id], {stdio: 'ignore'})
          })
          c.cgroup(cgA).cgroup(cgB)
          makeBundle(srcBundle, mib, cgA, isRunc)
          // stdio /dev/null: a pipe would be a unix socket CRIU cannot dump, and held open by the container
          // (and not a host file either: runc cannot checkpoint that, CRIU: "Can't lookup mount")
          const started = spawnSync(rtA[0], [...rtA.slice(1), 'run', '-d', '--bundle', srcBundle, id], {stdio: 'ignore', timeout: 60_000})
          if (started.status !== 0) throw new Error(`${kase} run -d ${id} exited ${started.status ?? started.signal}`)
          const srcFile = path.join(srcBundle, 'data', 'file')
          await waitFor('the first line (memory filled)', () => readLines(srcFile).lines.length >= 1, 120_000)
          await sleep(1000) // a steady state: ticking and dirtying
          const rec = {mib, case: kase, round, loadavg: loadavg()}
          const t0 = Date.now()
          const wire0 = vethBytes(pair.vethA)
          try {
            if (isRunc) Object.assign(rec, await runcMove({id, mib, srcBundle, dstBundle, cgB, A, B, ssh, work}))
            else Object.assign(rec, await ocirtMove({id, srcBundle, dstBundle, cgB, A, B, pair, stopCopy: kase === 'ocirt-stop-copy'}))
            const t1 = Date.now()
            rec.wireBytes = vethBytes(pair.vethA) - wire0
            await sleep(SETTLE_MS + 200)
            Object.assign(rec, analyse(srcFile, path.join(dstBundle, 'data', 'file'), t0, t1))
            rec.linkMs = (rec.wireBytes / (link.mibPerS * 1048576)) * 1000
            rec.totalOverLink = rec.totalMs / rec.linkMs
            rec.ok = rec.problems.length === 0
          } catch (e) {
            rec.ok = false
            rec.problems = [String(e.message ?? e).slice(0, 1500)]
          }
          results.push(rec)
          if (process.env.BENCH_PROGRESS) fs.appendFileSync(process.env.BENCH_PROGRESS, JSON.stringify(rec) + '\n')
          console.log(rec.ok
            ? `${mib} MiB ${kase} #${round + 1}: downtime ${rec.downtimeMs} ms, total ${rec.totalMs.toFixed(0)} ms, ${(rec.bytes / 1048576).toFixed(1)} MiB counted, ${(rec.wireBytes / 1048576).toFixed(1)} MiB on the wire (link ${rec.linkMs.toFixed(0)} ms), stall ${rec.stallMs} ms, ${rec.stallsOver50} > ${STALL_MS} ms  [load ${rec.loadavg.join(' ')}]`
            : `${mib} MiB ${kase} #${round + 1}: FAILED: ${rec.problems.join('; ')}`)
          spawnSync(rtA[0], [...rtA.slice(1), 'delete', '-f', id], {stdio: 'ignore'})
          spawnSync(rtB[0], [...rtB.slice(1), 'delete', '-f', id], {stdio: 'ignore'})
          fs.rmSync(srcBundle, {recursive: true, force: true})
          fs.rmSync(dstBundle, {recursive: true, force: true})
        }
      }
    }
    clearInterval(loadTimer)
    loads.push({at: new Date().toISOString(), loadavg: loadavg()})
    report(results, link, loads, newMemory)
  } finally {
    clearInterval(loadTimer)
    await stop()
  }
}

async function ocirtMove({id, dstBundle, cgB, A, B, pair, stopCopy}) {
  const b = pair.b
  const debugDir = process.env.BENCH_DEBUG_DIR
  const argv = [OCIRT, ...(debugDir ? ['--debug'] : []), '--root', A.root, 'migrate', id, '--to', `root@${b.host}:${b.port}`, '-i', b.identityFile,
    '--known-hosts', b.knownHostsFile, '--remote-ocirt', OCIRT, '--remote-root', B.root, '--remote-bundle', dstBundle,
    '--target-cgroups-path', cgB, '--json', ...(stopCopy ? ['--mode', 'stop-copy'] : [])]
  const r = await runAsync(argv, 'ocirt migrate', {allowFail: true})
  if (debugDir) fs.writeFileSync(path.join(debugDir, `${id}${stopCopy ? '-stop-copy' : ''}.log`), r.stderr)
  let s
  try {
    s = JSON.parse(r.stdout)
  } catch {
    throw new Error(`ocirt migrate exited ${r.status}, no JSON summary: ${r.stderr.slice(-2000)}`)
  }
  if (r.status !== 0 || s.outcome !== 'migrated') throw new Error(`ocirt migrate exited ${r.status}: ${s.outcome}: ${s.error ?? r.stderr.slice(-1500)}`)
  const bytes = Object.values(s.bytes ?? {}).reduce((a, x) => a + (typeof x === 'number' ? x : 0), 0)
  return {totalMs: r.ms, bytes, bytesDetail: s.bytes, mode: s.mode, ocirtSummary: {downtimeMs: s.downtimeMs, postCopyMs: s.postCopyMs, totalMs: s.totalMs, phases: s.phases}}
}

/**
 * The plain runc pipeline: the bundle (rootfs, config, data) to B before the freeze; then runc checkpoint, and one
 * OpenSSH session that carries the images and the data file as it was at the freeze and runs runc restore -d.
 */
async function runcMove({id, srcBundle, dstBundle, cgB, A, B, ssh, work}) {
  const img = path.join(work, 'A', `img-${id}`)
  const img2 = path.join(work, 'B', `img-${id}`)
  const log = path.join(work, 'B', `restore-${id}.log`)
  const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`
  // B's config: its own data path and a free cgroup path (runc restore needs the container's cgroup unused)
  const t0 = process.hrtime.bigint()
  const sync = await runAsync(['sh', '-c', `tar -C ${q(srcBundle)} -cf - . | ${ssh.join(' ')} ${q(`mkdir -p ${dstBundle} && tar -C ${dstBundle} -xf - && ` +
    `sed -i 's#${srcBundle}/data#${dstBundle}/data#; s#${cgB.replace(/-b$/, '-a')}#${cgB}#' ${dstBundle}/config.json`)}`], 'runc: bundle to B')
  const bundleBytes = duBytes(srcBundle)
  const ck = await runAsync(['runc', '--root', A.runc, 'checkpoint', '--image-path', img, id], 'runc checkpoint')
  const imgBytes = duBytes(img)
  const dataBytes = fs.statSync(path.join(srcBundle, 'data', 'file')).size
  // images and the data file in one stream: ./<images> and data/file; the data file moved into B's bundle
  const remote = `mkdir -p ${img2} && tar -C ${img2} -xf - && mv ${img2}/data/file ${dstBundle}/data/file && rmdir ${img2}/data && ` +
    `runc --root ${B.runc} restore -d --image-path ${img2} --bundle ${dstBundle} ${id} </dev/null >${log} 2>&1 || { cat ${log} >&2; exit 1; }`
  const mv = await runAsync(['sh', '-c', `tar -cf - -C ${q(img)} . -C ${q(srcBundle)} data/file | ${ssh.join(' ')} ${q(remote)}`], 'runc: images to B and restore')
  const totalMs = Number(process.hrtime.bigint() - t0) / 1e6
  fs.rmSync(img, {recursive: true, force: true})
  fs.rmSync(img2, {recursive: true, force: true})
  return {totalMs, bytes: bundleBytes + imgBytes + dataBytes, bytesDetail: {bundle: bundleBytes, images: imgBytes, dataAtFreeze: dataBytes},
    steps: {bundleMs: sync.ms, checkpointMs: ck.ms, transferRestoreMs: mv.ms}}
}

/** Bytes sent and received by a network interface of this namespace so far. */
function vethBytes(dev) {
  const read = (k) => Number(fs.readFileSync(`/sys/class/net/${dev}/statistics/${k}_bytes`, 'utf8'))
  return read('tx') + read('rx')
}

function report(results, link, loads, newMemory) {
  const groups = []
  for (const mib of sizes) {
    for (const kase of cases) {
      const rs = results.filter((r) => r.mib === mib && r.case === kase)
      const ok = rs.filter((r) => r.ok)
      const m = (k) => median(ok.map((r) => r[k]))
      groups.push({mib, case: kase, runs: rs.length, ok: ok.length, failures: rs.filter((r) => !r.ok).map((r) => r.problems.join('; ')),
        downtimeMs: m('downtimeMs'), totalMs: m('totalMs'), bytes: m('bytes'), wireBytes: m('wireBytes'), linkMs: m('linkMs'), totalOverLink: m('totalOverLink'),
        stallMs: m('stallMs'), stallsOver50: m('stallsOver50'), maxStallMs: ok.length ? Math.max(...ok.map((r) => r.stallMs)) : NaN,
        // filling the container's memory anew, which the restore cannot skip, at this machine's rate
        newMemoryMs: (newMemory.usPerPage * mib * 256) / 1000})
    }
  }
  const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—')
  console.log(`\nmedians of ${runs} runs; link ${link.mibPerS.toFixed(0)} MiB/s (OpenSSH); load average ${loads[0].loadavg.join(' ')} at start, ${loads.at(-1).loadavg.join(' ')} at end\n`)
  console.log('| memory | case | ok | downtime (ms) | total (ms) | MiB counted | MiB on the wire | link time (ms) | total / link | worst stall (ms) | stalls > 50 ms | downtime / runc | total / runc |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const g of groups) {
    const r = groups.find((x) => x.mib === g.mib && x.case === 'runc')
    g.downtimeVsRunc = r && g.case !== 'runc' ? g.downtimeMs / r.downtimeMs : undefined
    g.totalVsRunc = r && g.case !== 'runc' ? g.totalMs / r.totalMs : undefined
    console.log(`| ${g.mib} MiB | ${g.case} | ${g.ok}/${g.runs} | ${f(g.downtimeMs)} | ${f(g.totalMs)} | ${f(g.bytes / 1048576, 1)} | ${f(g.wireBytes / 1048576, 1)} | ${f(g.linkMs)} | ${f(g.totalOverLink, 2)}x | ${f(g.stallMs)} | ${f(g.stallsOver50)} | ${g.downtimeVsRunc ? f(g.downtimeVsRunc, 2) + 'x' : ''} | ${g.totalVsRunc ? f(g.totalVsRunc, 2) + 'x' : ''} |`)
    for (const fl of g.failures) console.log(`|  | failed: ${fl.replace(/\|/g, '/').replace(/\n/g, ' ').slice(0, 300)} |`)
  }
  console.log(`\nfilling the memory anew at this machine's ${newMemory.usPerPage.toFixed(1)} us a page: ${groups.filter((g) => g.case === cases[0]).map((g) => `${g.mib} MiB ${f(g.newMemoryMs)} ms`).join(', ')}` +
    ' (every restore fills its memory anew; post-copy does it between its fetches)')
  const loadMax = Math.max(...loads.map((l) => l.loadavg[0]))
  console.log(`\n1-min load average during the run: ${Math.min(...loads.map((l) => l.loadavg[0])).toFixed(2)}..${loadMax.toFixed(2)} (${os.cpus().length} CPUs)`)
  fs.writeFileSync(jsonOut, JSON.stringify({date: new Date().toISOString(), runs, sizes, cases, dirtyMiBPerS: DIRTY_MIB_PER_S,
    link: {...link, via: `OpenSSH, ${linkMib} MiB of /dev/zero to cat > /dev/null`}, newMemory, loads, summary: groups, results}, null, 2) + '\n')
  console.log(`written: ${path.relative(process.cwd(), jsonOut) || jsonOut}`)
}

main().catch((e) => {
  console.error(`bench/migrate: FAILED: ${e.stack ?? e}`)
  process.exitCode = 1
})

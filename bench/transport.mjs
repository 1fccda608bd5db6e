#!/usr/bin/env node
// bench/transport: how fast a directory tree crosses ssh into a "remote host" (test/helpers/remote-host: an sshd
// in a network namespace behind a veth pair, on this machine), for the ways `ocirt migrate` can ship a tree:
//   openssh         tar -c | ssh (OpenSSH client) 'tar -x'          the reference
//   gnutar-ssh2     GNU tar child → ssh2 exec channel → tar -x
//   packTree-cat    packTree → ssh2 exec channel → cat > /dev/null  (transport and packing only)
//   packTree-tar    packTree → ssh2 exec channel → GNU tar -x
//   packTree-node   packTree → ssh2 exec channel → node extractTree  (what the migrate agent does)
// Prints the median MB/s of BENCH_RUNS runs (default 3) per case; `--json FILE` saves them.
// Needs root, sshd, and a built tree (npm run build).
//   BENCH_MB=500 BENCH_RUNS=3 node bench/transport.mjs
import {spawn, spawnSync} from 'node:child_process'
import {randomFillSync} from 'node:crypto'
import * as fs from 'node:fs'
import {createRequire} from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const {makeHostPair} = require(path.join(REPO, 'dist/test/helpers/remote-host.js'))
const {connectSsh} = require(path.join(REPO, 'dist/src/migrate/ssh/index.js'))
const {packTree} = require(path.join(REPO, 'dist/src/migrate/stream/index.js'))
const STREAM = path.join(REPO, 'dist/src/migrate/stream')

const runs = Number(process.env.BENCH_RUNS ?? 3)
const totalMb = Number(process.env.BENCH_MB ?? 500)
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-bench-transport-'))
const src = path.join(work, 'src')
const dst = path.join(work, 'dst')

/** 90% of the bytes in 10 MB files, 10% in 4 KiB files (a root filesystem has many small files). */
function makeTree() {
  const big = Buffer.alloc(10 << 20)
  const small = Buffer.alloc(4096)
  fs.mkdirSync(path.join(src, 'big'), {recursive: true})
  const bigCount = Math.round((totalMb * 0.9) / 10)
  for (let i = 0; i < bigCount; i++) fs.writeFileSync(path.join(src, 'big', `f${i}`), randomFillSync(big))
  const smallCount = Math.round((totalMb * 0.1 * (1 << 20)) / 4096)
  for (let i = 0; i < smallCount; i++) {
    const d = path.join(src, 'small', String(i % 100))
    if (i < 100) fs.mkdirSync(d, {recursive: true})
    fs.writeFileSync(path.join(d, `s${i}`), randomFillSync(small))
  }
  const r = spawnSync('du', ['-sb', src], {encoding: 'utf8'})
  return {bytes: Number(r.stdout.split('\t')[0]), files: bigCount + smallCount}
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function viaSsh2(session, feed, remote) {
  const p = await session.exec(remote)
  let err = ''
  p.stderr.on('data', (d) => (err += d))
  p.stdout.resume()
  feed(p.stdin)
  const st = await p.exit
  if (st.code !== 0) throw new Error(`${remote.join(' ')}: ${JSON.stringify(st)} ${err}`)
}

async function main() {
  const pair = await makeHostPair()
  // an interrupted run must not leave its sshds, veth and netns behind
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      pair.stop().finally(() => {
        fs.rmSync(work, {recursive: true, force: true})
        process.exit(130)
      })
    })
  }
  try {
    const {bytes, files} = makeTree()
    console.log(`tree: ${(bytes / 1e6).toFixed(0)} MB in ${files} files; ${runs} runs per case; host b = ${pair.b.host}:${pair.b.port}`)
    const session = await connectSsh(pair.b, {identityFiles: [pair.b.identityFile], knownHostsFile: pair.b.knownHostsFile, agent: false})
    const untar = ['sh', '-c', 'mkdir -p "$1" && exec tar -x -C "$1"', 'sh', dst]
    const cases = {
      openssh: () => new Promise((resolve, reject) => {
        const sh = spawn('sh', ['-c', `tar -C "$1" -cf - . | ssh -q -i "$2" -o UserKnownHostsFile="$3" -o BatchMode=yes -p "$4" root@"$5" 'mkdir -p ${dst} && tar -x -C ${dst}'`,
          'sh', src, pair.b.identityFile, pair.b.knownHostsFile, String(pair.b.port), pair.b.host], {stdio: 'inherit'})
        sh.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`openssh pipeline exited ${code}`))))
      }),
      'gnutar-ssh2': () => viaSsh2(session, (stdin) => spawn('tar', ['-C', src, '-cf', '-', '.'], {stdio: ['ignore', 'pipe', 'inherit']}).stdout.pipe(stdin), untar),
      'packTree-cat': () => viaSsh2(session, (stdin) => packTree(src).pipe(stdin), ['sh', '-c', 'cat > /dev/null']),
      'packTree-tar': () => viaSsh2(session, (stdin) => packTree(src).pipe(stdin), untar),
      'packTree-node': () => viaSsh2(session, (stdin) => packTree(src).pipe(stdin),
        [process.execPath, '-e', `require(${JSON.stringify(STREAM)}).extractTree(process.argv[1], process.stdin).catch(e=>{console.error(e.message);process.exit(1)})`, dst]),
    }
    const results = {}
    for (let round = 0; round < runs; round++) {
      for (const [name, run] of Object.entries(cases)) {
        fs.rmSync(dst, {recursive: true, force: true})
        spawnSync('sync')
        const t0 = process.hrtime.bigint()
        await run()
        const s = Number(process.hrtime.bigint() - t0) / 1e9
        ;(results[name] ??= []).push(bytes / 1e6 / s)
        if (name !== 'packTree-cat') {
          const got = spawnSync('du', ['-sb', dst], {encoding: 'utf8'}).stdout.split('\t')[0]
          if (Math.abs(Number(got) - bytes) > bytes * 0.01) throw new Error(`${name}: ${got} bytes arrived, ${bytes} sent`)
        }
      }
    }
    await session.close()
    console.log('| case | MB/s (median) | runs |')
    console.log('|---|---|---|')
    const out = {}
    for (const [name, xs] of Object.entries(results)) {
      out[name] = {medianMBps: Number(median(xs).toFixed(1)), runs: xs.map((x) => Number(x.toFixed(1)))}
      console.log(`| ${name} | ${out[name].medianMBps} | ${out[name].runs.join(', ')} |`)
    }
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({date: new Date().toISOString(), bytes, files, results: out}, null, 2) + '\n')
  } finally {
    await pair.stop()
    fs.rmSync(work, {recursive: true, force: true})
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})

#!/usr/bin/env node
// ocirt's headline, end to end on this machine (as root): two "hosts" made as the e2e tests make them (a veth
// pair, a network namespace, an sshd on each side, each with its own ocirt --root and bundle directory), a
// container counting with 64 MiB of memory on host A, `ocirt migrate` to host B over SSH, the summary, proof that
// it goes on counting on B, and the way back. Everything is removed at the end, also on failure or Ctrl-C.
import {spawnSync} from 'node:child_process'
import {createRequire} from 'node:module'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const {makeHostPair} = require(path.join(REPO, 'dist/test/helpers/remote-host.js'))
const {Cleanup} = require(path.join(REPO, 'dist/test/helpers/cleanup.js'))
const OCIRT = path.join(REPO, 'bin/ocirt')
const ROOTFS = path.join(REPO, 'test/fixtures/build/rootfs')
const MIB = Number(process.env.DEMO_MIB || 64)

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const say = (s) => console.log(`\n${bold(s)}`)

function sh(argv, opts = {}) {
  console.log(bold(`$ ${argv.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`))
  const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'inherit', 'inherit'], ...opts})
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${argv[0]} exited ${r.status}`)
  return r.status
}

function lastCount(file) {
  const m = fs.existsSync(file) ? [...fs.readFileSync(file, 'utf8').matchAll(/count=(\d+)/g)] : []
  return m.length ? Number(m.at(-1)[1]) : -1
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function main() {
  if (process.getuid() !== 0) throw new Error('run as root (containers, network namespaces, CRIU)')
  for (const f of ['dist/ocirt.js', 'native/build/ocirt-init', 'test/fixtures/build/rootfs/bin/probe']) {
    if (!fs.existsSync(path.join(REPO, f))) throw new Error(`${f} missing: run scripts/setup.sh first`)
  }
  const c = new Cleanup()
  const stop = () => c.run()
  process.once('SIGINT', () => void stop().then(() => process.exit(130)))
  try {
    say('1. two hosts on this machine: A in the root network namespace, B in its own, each with an sshd')
    const pair = await makeHostPair(c)
    const A = {ep: pair.a, root: path.join(pair.dir, 'A/root'), bundles: path.join(pair.dir, 'A/bundles')}
    const B = {ep: pair.b, root: path.join(pair.dir, 'B/root'), bundles: path.join(pair.dir, 'B/bundles')}
    for (const s of [A, B]) fs.mkdirSync(s.bundles, {recursive: true})
    console.log(`A: ${A.ep.host}:${A.ep.port}  --root ${A.root}`)
    console.log(`B: ${B.ep.host}:${B.ep.port}  --root ${B.root}  (network namespace ${pair.netns})`)

    const id = `demo-${process.pid}`
    const bundle = path.join(A.bundles, id)
    say(`2. a container on A: it counts every 100 ms and checks a ${MIB} MiB memory pattern before each line`)
    fs.mkdirSync(path.join(bundle, 'data'), {recursive: true})
    fs.cpSync(ROOTFS, path.join(bundle, 'rootfs'), {recursive: true, verbatimSymlinks: true})
    sh([OCIRT, 'spec', '--bundle', bundle])
    const cfgFile = path.join(bundle, 'config.json')
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'))
    cfg.process.terminal = false
    cfg.process.args = ['/bin/probe', 'counter', '/out/count', String(MIB)]
    cfg.root = {path: 'rootfs', readonly: false}
    cfg.hostname = 'moving'
    cfg.mounts.push({destination: '/out', type: 'bind', source: 'data', options: ['rbind', 'rw']})
    cfg.linux.cgroupsPath = `/ocirt-demo/${id}-a`
    fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2))
    c.cgroup(`/ocirt-demo/${id}-a`).cgroup(`/ocirt-demo/${id}-b`).cgroup('/ocirt-demo')
    c.container(id, A.root).container(id, B.root)
    sh([OCIRT, '--root', A.root, 'run', '-d', '--bundle', bundle, id])
    await sleep(1500)
    console.log(`A's counter: ${lastCount(path.join(bundle, 'data/count'))}`)
    sh([OCIRT, '--root', A.root, 'list'])

    say('3. ocirt migrate: A -> B over SSH (host key checked against known_hosts), post-copy')
    const there = path.join(B.bundles, id)
    sh([OCIRT, '--root', A.root, 'migrate', id, '--to', `root@${B.ep.host}:${B.ep.port}`, '-i', B.ep.identityFile,
      '--known-hosts', B.ep.knownHostsFile, '--remote-ocirt', OCIRT, '--remote-root', B.root, '--remote-bundle', there,
      '--target-cgroups-path', `/ocirt-demo/${id}-b`])

    say('4. it runs on B now, and goes on counting where it stopped on A')
    sh([OCIRT, '--root', A.root, 'list'])
    sh([OCIRT, '--root', B.root, 'list'])
    const onA = lastCount(path.join(bundle, 'data/count'))
    await sleep(1000)
    const onB = lastCount(path.join(there, 'data/count'))
    console.log(`A's counter stopped at ${onA}; B's counter is at ${onB}`)
    const text = fs.readFileSync(path.join(there, 'data/count'), 'utf8')
    if (text.includes('pattern=broken')) throw new Error('memory pattern broken on B')
    if (!(onB > onA)) throw new Error('the counter did not go on on B')

    say('5. and back: B -> A, started from B (inside its network namespace), stop-and-copy this time')
    const back = path.join(A.bundles, `${id}-back`)
    sh([...pair.b.nsPrefix, OCIRT, '--root', B.root, 'migrate', id, '--to', `root@${A.ep.host}:${A.ep.port}`, '-i', A.ep.identityFile,
      '--known-hosts', A.ep.knownHostsFile, '--remote-ocirt', OCIRT, '--remote-root', A.root, '--remote-bundle', back,
      '--target-cgroups-path', `/ocirt-demo/${id}-a`, '--mode', 'stop-copy'])
    await sleep(500)
    console.log(`back on A, counting: ${lastCount(path.join(back, 'data/count'))}`)
    sh([OCIRT, '--root', A.root, 'state', id])
    console.log('\ndemo: done')
  } finally {
    say('cleaning up (containers, sshds, netns, veth, cgroups, temp dirs)')
    await stop()
  }
}

main().catch((err) => {
  console.error(`demo: FAILED: ${err.message}`)
  process.exitCode = 1
})

#!/usr/bin/env node
// Run the compiled tests of one or more tiers with node's own test runner, in ONE `node --test` run so the
// output ends with a single summary (# tests, # pass, # fail, ...).
//
//   node scripts/run-tests.mjs TIER... [-- NODE_TEST_OPTIONS...]
//   TIER: unit | integration | e2e | engines   (files: dist/test/<tier>/**/*.test.js; run `npm run build` first)
//   (engines: podman, containerd and dockerd with ocirt as their runtime, each in private dirs)
//   e.g. npm test -- --test-name-pattern=codec
//
// unit tests run with node's default file concurrency. integration and e2e start real containers as root and
// share host resources (cgroups, mounts, netns), so a run that includes them goes one file at a time
// (--test-concurrency=1) under --test-timeout (OCIRT_TEST_TIMEOUT_MS, default 600000): node applies it to each
// test AND to each file as a whole, so a file that leaves a process or handle behind (a container holding a
// pipe, an sshd) fails after 10 minutes instead of eating the CI's 90. Give slow tests their own, tighter
// {timeout}. Node 20's `node --test` takes no globs: the files are listed here.
// The reporter is node's default: TAP when stdout is not a terminal (CI), spec on a terminal.
import {spawn} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const TIERS = ['unit', 'integration', 'e2e', 'engines']
const SERIAL = new Set(['integration', 'e2e', 'engines'])

const sep = process.argv.indexOf('--')
const tiers = sep < 0 ? process.argv.slice(2) : process.argv.slice(2, sep)
const passThrough = sep < 0 ? [] : process.argv.slice(sep + 1)

if (tiers.length === 0 || tiers.some((t) => !TIERS.includes(t))) {
  console.error(`usage: node scripts/run-tests.mjs ${TIERS.join('|')}... [-- node --test options]`)
  process.exit(2)
}

/** Every *.test.js below dir, sorted, so runs are repeatable. */
function findTests(dir) {
  if (!existsSync(dir)) return []
  const found = []
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...findTests(path))
    else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(path)
  }
  return found.sort()
}

const files = []
for (const tier of tiers) {
  const dir = join(REPO, 'dist', 'test', tier)
  const found = findTests(dir)
  if (found.length === 0) console.log(`# ${tier}: no compiled tests in ${relative(REPO, dir)}/, skipping this tier`)
  else console.log(`# ${tier}: ${found.length} test file(s)`)
  files.push(...found)
}

if (files.length === 0) {
  // Nothing built at all is an error (a forgotten build must not pass); built but empty tiers are not.
  if (!existsSync(join(REPO, 'dist', 'test'))) {
    console.error('run-tests: dist/test/ does not exist: run `npm run build` first')
    process.exit(1)
  }
  console.log(`# no tests to run in: ${tiers.join(', ')}`)
  process.exit(0)
}

const args = ['--test']
if (tiers.some((t) => SERIAL.has(t))) {
  args.push('--test-concurrency=1', `--test-timeout=${process.env.OCIRT_TEST_TIMEOUT_MS || 600000}`)
}
args.push(...passThrough, ...files.map((f) => relative(REPO, f)))

const child = spawn(process.execPath, args, {cwd: REPO, stdio: 'inherit'})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => {
  if (signal) {
    console.error(`run-tests: node --test was killed by ${signal}`)
    process.exit(1)
  }
  process.exit(code ?? 1)
})

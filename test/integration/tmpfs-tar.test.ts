// native/build/criu-bin/tar, the `tar` CRIU runs for tmpfs contents (native/tmpfs-tar): given CRIU's two command
// lines it archives and extracts itself, and what it makes is what GNU tar makes, in effect; anything else goes to
// GNU tar. Runs as root (devices, owners) on trees in a temporary directory.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import * as zlib from 'node:zlib'
import {spawnSync} from 'node:child_process'
import {requires} from '../helpers/requires'
import {REPO} from '../helpers/paths'

const SHIM = path.join(REPO, 'native', 'build', 'criu-bin', 'tar')
// exactly what CRIU 4.1 runs (criu/filesystems.c), the directory last
const CREATE = ['--create', '--gzip', '--no-unquote', '--no-wildcards', '--one-file-system', '--check-links', '--preserve-permissions', '--sparse', '--numeric-owner', '--directory']
const EXTRACT = ['--extract', '--gzip', '--no-unquote', '--no-wildcards', '--directory']
const DEBUG = {...process.env, OCIRT_TMPFS_TAR_DEBUG: '1'}

/** A temporary directory, removed after the test with anything the test mounted below it unmounted first. */
function tmp(t: {after(fn: () => void): void}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-tmpfs-tar-'))
  t.after(() => {
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(dir + '/'))
    for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m])
    fs.rmSync(dir, {recursive: true, force: true})
  })
  return dir
}

interface Run {
  status: number | null
  stdout: Buffer
  stderr: string
}

function run(bin: string, args: string[], opts: {input?: Buffer | number; stdout?: number; env?: NodeJS.ProcessEnv} = {}): Run {
  const stdin = typeof opts.input === 'number' ? opts.input : 'pipe'
  const r = spawnSync(bin, args, {input: typeof opts.input === 'number' ? undefined : opts.input, stdio: [stdin, opts.stdout ?? 'pipe', 'pipe'], env: opts.env ?? DEBUG, maxBuffer: 64 << 20, timeout: 60_000})
  return {status: r.status, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString() ?? ''}
}

/** CRIU's create: the archive goes to a file (stdout), as CRIU hands tar its image file. */
function create(bin: string, dir: string, out: string): Run {
  const fd = fs.openSync(out, 'w', 0o600)
  try {
    return run(bin, [...CREATE, dir, '.'], {stdout: fd})
  } finally {
    fs.closeSync(fd)
  }
}

/** CRIU's extract: the archive on stdin as a regular file (seekable), or through a pipe. */
function extract(bin: string, archive: string, dir: string, how: 'file' | 'pipe' = 'file'): Run {
  if (how === 'pipe') return run(bin, [...EXTRACT, dir], {input: fs.readFileSync(archive)})
  const fd = fs.openSync(archive, 'r')
  try {
    return run(bin, [...EXTRACT, dir], {input: fd})
  } finally {
    fs.closeSync(fd)
  }
}

function ok(r: Run, what: string): void {
  assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`)
}

const at = (s: string) => new Date(s)

/** Every kind of entry CRIU's tmpfs can hold that the shim archives itself. */
function makeTree(root: string): void {
  fs.mkdirSync(path.join(root, 'sub', 'deeper'), {recursive: true})
  fs.writeFileSync(path.join(root, 'empty'), '')
  fs.writeFileSync(path.join(root, 'small'), 'hello\n')
  fs.writeFileSync(path.join(root, 'big'), crypto.randomBytes(1536 * 1024 + 7))
  fs.writeFileSync(path.join(root, 'sub', 'deeper', 'f'), 'deep')
  fs.symlinkSync('small', path.join(root, 'link'))
  fs.symlinkSync('/nowhere/at/all', path.join(root, 'dangling'))
  fs.symlinkSync('t'.repeat(180), path.join(root, 'longlink')) // > 100 bytes: a GNU 'K' entry
  const long = path.join(root, 'd'.repeat(90), 'e'.repeat(90))
  fs.mkdirSync(long, {recursive: true})
  fs.writeFileSync(path.join(long, 'f'.repeat(120)), 'long') // > 255 bytes: a GNU 'L' entry
  fs.writeFileSync(path.join(root, 'd'.repeat(90), 'e'.repeat(90), 'x'), 'split') // ustar prefix + name
  assert.equal(spawnSync('mknod', [path.join(root, 'null'), 'c', '1', '3']).status, 0, 'mknod')
  assert.equal(spawnSync('mkfifo', [path.join(root, 'fifo')]).status, 0, 'mkfifo')
  fs.chmodSync(path.join(root, 'small'), 0o4755)
  fs.chmodSync(path.join(root, 'sub'), 0o1777)
  fs.chmodSync(path.join(root, 'empty'), 0o000)
  fs.chmodSync(path.join(root, 'null'), 0o666)
  fs.chownSync(path.join(root, 'big'), 1234, 1234)
  fs.chownSync(path.join(root, 'sub'), 1234, 4321)
  fs.lchownSync(path.join(root, 'link'), 1234, 1234)
  fs.chownSync(path.join(root, 'fifo'), 1234, 1234)
  fs.utimesSync(path.join(root, 'small'), at('2020-01-02T03:04:05Z'), at('2020-01-02T03:04:05Z'))
  fs.lutimesSync(path.join(root, 'link'), at('2019-05-06T07:08:09Z'), at('2019-05-06T07:08:09Z'))
  fs.utimesSync(path.join(root, 'sub', 'deeper'), at('2018-01-01T00:00:00Z'), at('2018-01-01T00:00:00Z'))
  fs.utimesSync(path.join(root, 'sub'), at('2017-01-01T00:00:00Z'), at('2017-01-01T00:00:00Z'))
  fs.utimesSync(root, at('2016-01-01T00:00:00Z'), at('2016-01-01T00:00:00Z'))
}

/** What an extraction must reproduce, entry by entry: type, mode, owner, mtime (seconds), size, content, rdev, target. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (rel: string) => {
    const abs = path.join(root, rel)
    const st = fs.lstatSync(abs)
    let what = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)}`
    if (st.isFile()) what += ` ${st.size} ${crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex')} nlink=${st.nlink}`
    if (st.isSymbolicLink()) what += ` -> ${fs.readlinkSync(abs)}`
    if (st.isCharacterDevice() || st.isBlockDevice()) what += ` rdev=${st.rdev}`
    out.set(rel || '.', what)
    if (st.isDirectory()) for (const name of fs.readdirSync(abs).sort()) walk(path.join(rel, name))
  }
  walk('')
  return out
}

function assertSameTree(actual: string, expected: string, what: string): void {
  assert.deepEqual([...snapshot(actual)], [...snapshot(expected)], what)
}

function listing(archive: string): string[] {
  const r = spawnSync('tar', ['-tzf', archive], {encoding: 'utf8'})
  assert.equal(r.status, 0, `GNU tar lists ${archive}: ${r.stderr}`)
  return r.stdout.split('\n').filter(Boolean)
}

test('the shim archives a tree that GNU tar and the shim extract alike, and extracts what GNU tar archived', (t) => {
  if (!requires(t, 'root')) return
  assert.ok(fs.existsSync(SHIM), `${SHIM} is built by npm run build`)
  const dir = tmp(t)
  const src = path.join(dir, 'src')
  fs.mkdirSync(src)
  makeTree(src)

  const ours = path.join(dir, 'ours.tar.gz')
  const c = create(SHIM, src, ours)
  ok(c, 'shim create')
  assert.match(c.stderr, /ocirt tmpfs-tar: created 16 entries of /, 'the shim archived by itself')
  const names = listing(ours)
  assert.equal(names[0], './', 'entries are relative, as GNU tar names them')
  assert.ok(names.includes('./sub/deeper/') && names.includes('./small') && names.includes(`./${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(120)}`), names.join('\n'))

  const byGnu = path.join(dir, 'gnu-x')
  const byShim = path.join(dir, 'shim-x')
  fs.mkdirSync(byGnu)
  fs.mkdirSync(byShim)
  ok(extract('tar', ours, byGnu), 'GNU tar extracts the shim\'s archive')
  const x = extract(SHIM, ours, byShim)
  ok(x, 'shim extract')
  assert.match(x.stderr, /ocirt tmpfs-tar: extracted 16 entries/)
  assertSameTree(byGnu, src, 'GNU tar restores the tree the shim archived')
  assertSameTree(byShim, src, 'the shim restores it the same way (owners, set-id and sticky bits, 0000, mtimes, devices, fifo)')

  // the other way round: GNU tar's own archive (GNU format, its long names) through the shim, from a pipe too
  const gnu = path.join(dir, 'gnu.tar.gz')
  ok(create('tar', src, gnu), 'GNU tar create')
  for (const how of ['file', 'pipe'] as const) {
    const into = path.join(dir, `from-gnu-${how}`)
    fs.mkdirSync(into)
    const r = extract(SHIM, gnu, into, how)
    ok(r, `shim extracts GNU tar's archive (${how})`)
    assert.match(r.stderr, /extracted 16 entries/)
    assertSameTree(into, src, `GNU tar's archive through the shim (${how})`)
  }
})

test('a hard link or a socket in the tree: GNU tar archives it, and the shim extracts the hard link', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  const src = path.join(dir, 'src')
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'a'), 'shared')
  fs.linkSync(path.join(src, 'a'), path.join(src, 'b'))
  const archive = path.join(dir, 'h.tar.gz')
  const c = create(SHIM, src, archive)
  ok(c, 'create with a hard link')
  assert.match(c.stderr, /\.\/a is hard-linked: running GNU tar/)
  assert.deepEqual(listing(archive).sort(), ['./', './a', './b'])
  const into = path.join(dir, 'x')
  fs.mkdirSync(into)
  const x = extract(SHIM, archive, into)
  ok(x, 'shim extracts a hard link entry')
  assert.match(x.stderr, /extracted 3 entries/)
  assert.equal(fs.statSync(path.join(into, 'a')).ino, fs.statSync(path.join(into, 'b')).ino, 'one inode, two names')
  assert.equal(fs.readFileSync(path.join(into, 'b'), 'utf8'), 'shared')

  const sock = path.join(dir, 'sock')
  fs.mkdirSync(sock)
  fs.writeFileSync(path.join(sock, 'f'), 'x')
  const server = net.createServer().listen(path.join(sock, 's'))
  t.after(() => server.close())
  assert.ok(fs.lstatSync(path.join(sock, 's')).isSocket(), 'listen() bound the socket file')
  const sArchive = path.join(dir, 's.tar.gz')
  const s = create(SHIM, sock, sArchive)
  ok(s, 'create with a socket')
  assert.match(s.stderr, /\.\/s is a socket: running GNU tar/)
  assert.match(s.stderr, /socket ignored/, 'GNU tar itself ran')
  assert.deepEqual(listing(sArchive).sort(), ['./', './f'])
})

test('a GNU sparse archive goes to GNU tar, also through a pipe (a memfd copy of it)', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  const src = path.join(dir, 'src')
  fs.mkdirSync(src)
  const fd = fs.openSync(path.join(src, 'holes'), 'w')
  fs.writeSync(fd, 'end', 8 << 20)
  fs.closeSync(fd)
  const archive = path.join(dir, 'sparse.tar.gz')
  const c = create(SHIM, src, archive)
  ok(c, 'create with a sparse file')
  assert.match(c.stderr, /\.\/holes is a sparse file: running GNU tar/)

  const into = path.join(dir, 'x')
  fs.mkdirSync(into)
  const x = extract(SHIM, archive, into)
  ok(x, 'extract a GNU sparse member through GNU tar')
  assert.match(x.stderr, /\.\/holes: an entry type this program does not handle: running GNU tar/)
  assert.equal(fs.statSync(path.join(into, 'holes')).size, (8 << 20) + 3)
  assert.ok(fs.statSync(path.join(into, 'holes')).blocks < 64, 'still sparse')

  const piped = path.join(dir, 'y')
  fs.mkdirSync(piped)
  const p = extract(SHIM, archive, piped, 'pipe')
  ok(p, 'extract a GNU sparse member piped')
  assert.match(p.stderr, /\.\/holes: an entry type this program does not handle: running GNU tar/)
  assert.equal(fs.statSync(path.join(piped, 'holes')).size, (8 << 20) + 3)
})

test('any other command line is GNU tar\'s, argv untouched', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  const v = run(SHIM, ['--version'])
  ok(v, 'tar --version')
  assert.match(v.stdout.toString(), /^tar \(GNU tar\)/)
  const bogus = run(SHIM, [...CREATE, dir, '--bogus', '.'])
  assert.notEqual(bogus.status, 0)
  assert.match(bogus.stderr, /unrecognized option '--bogus'/, 'GNU tar says so')
  assert.doesNotMatch(bogus.stderr, /ocirt tmpfs-tar: created/)
  // CRIU's create without one of its flags, or with another operand, is not the shim's either
  const noSparse = path.join(dir, 'n.tar.gz')
  const fd = fs.openSync(noSparse, 'w')
  const r = run(SHIM, [...CREATE.filter((f) => f !== '--sparse'), dir, '.'], {stdout: fd})
  fs.closeSync(fd)
  ok(r, 'GNU tar create')
  assert.match(r.stderr, /not a command line of CRIU's: running GNU tar/)
})

/** A ustar archive of hand-made headers: what no tar writes, to test what the shim refuses. */
function ustar(entries: {name: string; type?: string; data?: string; link?: string}[]): Buffer {
  const blocks: Buffer[] = []
  for (const e of entries) {
    const h = Buffer.alloc(512)
    const data = Buffer.from(e.data ?? '')
    h.write(e.name, 0)
    const oct = (v: number, off: number, len: number) => h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, 'ascii')
    oct(e.type === '5' ? 0o755 : 0o644, 100, 8)
    oct(0, 108, 8)
    oct(0, 116, 8)
    oct(data.length, 124, 12)
    oct(1_600_000_000, 136, 12)
    h.write(e.type ?? '0', 156)
    if (e.link) h.write(e.link, 157)
    h.write('ustar\u000000', 257, 'ascii')
    h.fill(' ', 148, 156)
    let sum = 0
    for (const b of h) sum += b
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return zlib.gzipSync(Buffer.concat(blocks))
}

test('member names cannot leave the directory: ".." is refused, a leading "/" dropped, no path through a symlink', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  const write = (name: string, buf: Buffer) => {
    const f = path.join(dir, name)
    fs.writeFileSync(f, buf)
    return f
  }
  const into = path.join(dir, 'in', 'x')
  fs.mkdirSync(into, {recursive: true})

  const dots = extract(SHIM, write('dots.tar.gz', ustar([{name: 'ok', data: 'fine'}, {name: 'a/../../evil', data: 'bad'}])), into)
  assert.equal(dots.status, 2)
  assert.match(dots.stderr, /a\/\.\.\/\.\.\/evil: refusing a member name that contains "\.\."/)
  assert.ok(!fs.existsSync(path.join(dir, 'in', 'evil')) && !fs.existsSync(path.join(into, 'evil')), 'nothing written for it')

  const abs = extract(SHIM, write('abs.tar.gz', ustar([{name: '/etc/ocirt-tmpfs-tar-test', data: 'x'}])), into)
  ok(abs, 'an absolute name')
  assert.ok(!fs.existsSync('/etc/ocirt-tmpfs-tar-test'))
  assert.equal(fs.readFileSync(path.join(into, 'etc', 'ocirt-tmpfs-tar-test'), 'utf8'), 'x', 'extracted beneath the directory')

  const outside = path.join(dir, 'outside')
  fs.mkdirSync(outside)
  const through = extract(SHIM, write('sym.tar.gz', ustar([{name: 'l', type: '2', link: outside}, {name: 'l/planted', data: 'bad'}])), into)
  assert.equal(through.status, 2)
  assert.match(through.stderr, /l\/planted: cannot open l beneath the target directory: it is a symlink/)
  assert.deepEqual(fs.readdirSync(outside), [], 'nothing planted through the symlink')
})

test('a mount point in the tree is archived but not entered, as GNU tar --one-file-system does', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  const src = path.join(dir, 'src')
  const mnt = path.join(src, 'mnt')
  fs.mkdirSync(mnt, {recursive: true})
  fs.writeFileSync(path.join(src, 'a'), 'a')
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=700', 'ocirt-tmpfs-tar-test', mnt]).status, 0, 'mount a tmpfs')
  fs.writeFileSync(path.join(mnt, 'inner'), 'not archived')
  const ours = path.join(dir, 'ours.tar.gz')
  const gnu = path.join(dir, 'gnu.tar.gz')
  const c = create(SHIM, src, ours)
  ok(c, 'shim create')
  assert.match(c.stderr, /created 3 entries/)
  ok(create('tar', src, gnu), 'GNU tar create')
  assert.deepEqual(listing(ours).sort(), ['./', './a', './mnt/'])
  assert.deepEqual(listing(ours).sort(), listing(gnu).sort())
  const into = path.join(dir, 'x')
  fs.mkdirSync(into)
  ok(extract(SHIM, ours, into), 'extract')
  assert.equal((fs.statSync(path.join(into, 'mnt')).mode & 0o777).toString(8), '700', 'the mount point\'s own mode, as seen through the mount')
})

/** One raw tar header block, every field given: for archives no tar writes. */
function rawHeader(name: string, type: string, opts: {size?: number; link?: string; uname?: string; major?: number; minor?: number; magic?: string} = {}): Buffer {
  const h = Buffer.alloc(512)
  const oct = (v: number, off: number, len: number) => h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, 'ascii')
  h.write(name, 0)
  oct(0o644, 100, 8)
  oct(0, 108, 8)
  oct(0, 116, 8)
  oct(opts.size ?? 0, 124, 12)
  oct(0, 136, 12)
  h.write(type, 156)
  if (opts.link) h.write(opts.link, 157)
  h.write(opts.magic ?? 'ustar\u000000', 257, 'latin1')
  if (opts.uname) h.write(opts.uname, 265)
  if (opts.major !== undefined && opts.major < 0o7777777) oct(opts.major, 329, 8)
  else if (opts.major !== undefined) { // GNU's base-256: 0x80, then the value big-endian
    h[329] = 0x80
    let v = BigInt(opts.major)
    for (let i = 336; i > 329; i--, v >>= 8n) h[i] = Number(v & 0xffn)
  }
  if (opts.minor !== undefined) oct(opts.minor, 337, 8)
  h.fill(' ', 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
  return h
}

const padBlock = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)])

/** A pax record "LEN key=value\n", LEN counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')])
  let n = body.length + 1
  while (String(n).length + body.length !== n) n++
  return Buffer.concat([Buffer.from(String(n)), body])
}

/**
 * The review's proof of concept: two pax 'x' headers whose text the shim used to read with the first one's
 * size= (GNU tar reads each 'x' with its own header's size). The shim saw "a -> victim" then a member with an
 * owner name, so it handed over to GNU tar, which, reading the same bytes differently, wrote a/pwned through the
 * symlink the shim had already made.
 */
function desyncArchive(victim: string): Buffer {
  const B = 512
  const payload = Buffer.from('owned by a desynced GNU tar\n')
  const r2 = paxRecord('atime', Buffer.from('0'))
  const gnuTail = Buffer.concat([rawHeader('a/pwned', '0', {size: payload.length}), padBlock(payload), Buffer.alloc(2 * B)])
  let big: Buffer = Buffer.alloc(0)
  for (let plen = 5; plen < 20; plen++) {
    const gap = (B - ((r2.length + plen) % B)) % B
    const value = Buffer.concat([Buffer.alloc(gap), gnuTail])
    big = paxRecord('atime', value)
    if (big.length - value.length - 1 === plen) break
  }
  const shimText = Buffer.concat([r2, big, paxRecord('size', Buffer.from('0'))])
  const r1 = paxRecord('size', Buffer.from(String(shimText.length)))
  return zlib.gzipSync(Buffer.concat([
    rawHeader('PaxHeader1', 'x', {size: r1.length}), padBlock(r1),
    rawHeader('PaxHeader2', 'x', {size: r2.length}), padBlock(shimText),
    rawHeader('a', '2', {link: victim}),
    rawHeader('trigger', '0', {uname: 'root'}),
    Buffer.alloc(2 * B),
  ]))
}

test('an archive the shim does not fully handle goes to GNU tar before anything is written (pax desync PoC)', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  const victim = path.join(dir, 'victim')
  fs.mkdirSync(victim)
  const archive = path.join(dir, 'desync.tar.gz')
  fs.writeFileSync(archive, desyncArchive(victim))
  for (const how of ['file', 'pipe'] as const) {
    const into = path.join(dir, `into-${how}`)
    fs.mkdirSync(into)
    const x = extract(SHIM, archive, into, how)
    assert.deepEqual(fs.readdirSync(victim), [], `${how}: nothing written through a symlink into the victim directory`)
    assert.match(x.stderr, /a pax header.*: running GNU tar/, `${how}: GNU tar extracts the whole archive: ${x.stderr}`)
    assert.ok(!fs.lstatSync(path.join(into, 'a')).isSymbolicLink(), `${how}: the shim made no symlink before handing over`)
  }
})

test('a path longer than PATH_MAX in the tree: GNU tar archives it (the shim cannot reopen it once output began)', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  const src = path.join(dir, 'src')
  fs.mkdirSync(src)
  try {
    // 20 levels of 250-byte names: ~5000 bytes below src, made with relative chdirs (no absolute path is that short)
    const level = 'l'.repeat(250)
    const script = `process.chdir(process.argv[1]); for (let i = 0; i < 20; i++) { require('fs').mkdirSync('${level}'); process.chdir('${level}') } require('fs').writeFileSync('file', 'deep')`
    const mk = spawnSync(process.execPath, ['-e', script, src], {encoding: 'utf8'})
    assert.equal(mk.status, 0, `deep tree: ${mk.stderr}`)
    const archive = path.join(dir, 'deep.tar.gz')
    const c = create(SHIM, src, archive)
    ok(c, 'create a tree with a path longer than PATH_MAX')
    assert.match(c.stderr, /has a path too long to open beneath the directory: running GNU tar/)
    assert.ok(listing(archive).some((n) => n.endsWith(`${level}/file`)), 'GNU tar archived the deep file')
  } finally {
    spawnSync('rm', ['-rf', src]) // GNU rm walks a deep tree with openat; fs.rmSync would pass paths too long
  }
})

test('a deep tree: the shim archives it with a few open files, not one per level', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  const src = path.join(dir, 'src')
  const deep = path.join(src, ...Array.from({length: 100}, (_, i) => `d${i}`))
  fs.mkdirSync(deep, {recursive: true})
  fs.writeFileSync(path.join(deep, 'f'), 'bottom')
  const archive = path.join(dir, 'deep.tar.gz')
  const fd = fs.openSync(archive, 'w', 0o600)
  // 32 files at most: far fewer than the tree's 100 levels
  const c = spawnSync('sh', ['-c', 'ulimit -n 32 && exec "$@"', 'sh', SHIM, ...CREATE, src, '.'], {stdio: ['ignore', fd, 'pipe'], env: DEBUG, encoding: 'utf8'})
  fs.closeSync(fd)
  assert.equal(c.status, 0, `create: ${c.stderr}`)
  assert.doesNotMatch(c.stderr, /running GNU tar/, 'the shim archived it itself')
  assert.match(c.stderr, /created 102 entries/)
  const into = path.join(dir, 'x')
  fs.mkdirSync(into)
  ok(extract(SHIM, archive, into), 'extract the deep tree')
  assertSameTree(into, src, 'deep tree round trip')
})

test('a device number beyond what a dev_t holds goes to GNU tar, not truncated into another device', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  // major 2^32 + 1 used to be cast to unsigned: 1, so "dev" became char 1:1 (/dev/mem)
  for (const [what, major, minor] of [['major 2^32+1', 2 ** 32 + 1, 1], ['major 0x1000', 0x1000, 0], ['minor 0x100000', 1, 0x100000]] as const) {
    const archive = path.join(dir, `dev-${major}-${minor}.tar.gz`)
    fs.writeFileSync(archive, zlib.gzipSync(Buffer.concat([rawHeader('dev', '3', {major, minor}), Buffer.alloc(1024)])))
    const into = path.join(dir, `into-${major}-${minor}`)
    fs.mkdirSync(into)
    const x = extract(SHIM, archive, into)
    assert.match(x.stderr, /dev: a device number out of range: running GNU tar/, `${what}: ${x.stderr}`)
    const made = fs.existsSync(path.join(into, 'dev')) ? fs.lstatSync(path.join(into, 'dev')) : undefined
    assert.ok(!made || made.rdev !== 0x101, `${what}: no /dev/mem made of it`)
  }
})

test('a hard-linked fifo, device or symlink: GNU tar archives it, whatever it makes of the link', (t) => {
  if (!requires(t, 'root')) return
  const dir = tmp(t)
  for (const kind of ['fifo', 'device', 'symlink']) {
    const src = path.join(dir, `src-${kind}`)
    fs.mkdirSync(src)
    const a = path.join(src, 'a')
    if (kind === 'fifo') assert.equal(spawnSync('mkfifo', [a]).status, 0)
    if (kind === 'device') assert.equal(spawnSync('mknod', [a, 'c', '1', '3']).status, 0)
    if (kind === 'symlink') fs.symlinkSync('target', a)
    assert.equal(spawnSync('ln', ['-P', a, path.join(src, 'b')]).status, 0, `ln ${kind}`)
    const archive = path.join(dir, `${kind}.tar.gz`)
    const c = create(SHIM, src, archive)
    ok(c, `create with a hard-linked ${kind}`)
    assert.match(c.stderr, /\.\/a is hard-linked: running GNU tar/, kind)
    const into = path.join(dir, `x-${kind}`)
    fs.mkdirSync(into)
    ok(extract(SHIM, archive, into), `extract the hard-linked ${kind}`)
    const [ia, ib] = ['a', 'b'].map((n) => fs.lstatSync(path.join(into, n)))
    // GNU tar archives a hard-linked symlink as a link ('1'); a fifo or device twice, as two of them
    if (kind === 'symlink') assert.equal(ia.ino, ib.ino, 'symlink: one inode, two names')
    else assert.ok(ia.ino !== ib.ino && (ia.mode & 0o170000) === (ib.mode & 0o170000) && ia.rdev === ib.rdev, `${kind}: two alike`)
  }
})

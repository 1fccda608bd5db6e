// What a container sees of its namespaces and file system: hostname, new and joined namespaces, the spec's
// mounts, a read-only root, masked and read-only paths, devices and /dev symlinks, a user namespace.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {requires} from '../helpers/requires'
import {containerBundle, nsOf, runOut, sh} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

/** `probe ns` output as {name: link}. */
function parseNs(line: string): Record<string, string> {
  return Object.fromEntries(line.trim().split(' ').map((kv) => kv.split('=') as [string, string]))
}

/** Sections of a script's output separated by lines of `---`. */
function sections(out: string): string[] {
  return out.split('---\n').map((s) => s.trimEnd())
}

/** The mountinfo line of the mount at `point` in `probe mounts` output: mount options and super options. */
function mountAt(mountinfo: string, point: string): {opts: string[]; fstype: string; superOpts: string[]} | undefined {
  const line = mountinfo.split('\n').reverse().find((l) => l.split(' ')[4] === point)
  if (!line) return undefined
  const f = line.split(' ')
  const sep = f.indexOf('-')
  return {opts: f[5].split(','), fstype: f[sep + 1], superOpts: (f[sep + 3] ?? '').split(',')}
}

test('hostname and domainname come from the spec, in a new uts namespace', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {hostname: 'probe-host', domainname: 'probe.test', process: {args: sh(`${PROBE} hostname; ${PROBE} domainname`)}})
  assert.equal(await runOut(b), 'probe-host\nprobe.test\n')
})

test('the spec\'s namespaces are new, the others are the host\'s', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'ns']}})
  const ns = parseNs(await runOut(b))
  for (const n of ['uts', 'ipc', 'net', 'pid', 'mnt']) assert.notEqual(ns[n], nsOf('self', n), `${n} is new`)
  for (const n of ['cgroup', 'user', 'time']) assert.equal(ns[n], nsOf('self', n), `${n} is the host's`)

  const hostNet = containerBundle(t, (s) => {
    s.process!.args = [PROBE, 'ns']
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network' && n.type !== 'ipc')
  })
  const ns2 = parseNs(await runOut(hostNet))
  assert.equal(ns2.net, nsOf('self', 'net'), 'no network namespace in the spec: the host\'s')
  assert.equal(ns2.ipc, nsOf('self', 'ipc'))
  assert.notEqual(ns2.pid, nsOf('self', 'pid'))
})

test('a namespace given by path is joined (ip netns add)', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, (s) => {
    s.process!.args = [PROBE, 'ns']
  })
  const name = `ocirt-test-${process.pid}-join`
  b.cleanup.netns(name)
  const add = spawnSync('ip', ['netns', 'add', name], {encoding: 'utf8'})
  assert.equal(add.status, 0, `ip netns add: ${add.stderr}`)
  const file = path.join('/run/netns', name)
  b.writeSpec((s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? {type: 'network', path: file} : n))
  })
  const ns = parseNs(await runOut(b))
  assert.equal(ns.net, `net:[${fs.statSync(file).ino}]`, 'the container is in the named netns')
})

test('a new network namespace has its loopback up, as under runc; a joined one is left as it is', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  // IFF_UP is bit 0 of the flags sysfs shows (0x9 = UP|LOOPBACK); sysfs here is the container's network namespace's
  const b = containerBundle(t, {process: {args: sh('cat /sys/class/net/lo/flags; cat /sys/class/net/lo/operstate')}})
  const [flags, operstate] = (await runOut(b)).trim().split('\n')
  assert.equal(Number(flags) & 1, 1, `lo is up in the new namespace (flags ${flags})`)
  assert.equal(operstate, 'unknown', 'as the kernel shows an up loopback')

  const name = `ocirt-test-${process.pid}-lo`
  b.cleanup.netns(name)
  const add = spawnSync('ip', ['netns', 'add', name], {encoding: 'utf8'})
  assert.equal(add.status, 0, `ip netns add: ${add.stderr}`)
  b.writeSpec((s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? {type: 'network', path: path.join('/run/netns', name)} : n))
  })
  assert.equal(Number((await runOut(b)).trim().split('\n')[0]) & 1, 0, 'lo of the joined namespace is still down')
})

test('mounts from the spec: tmpfs with options, bind ro and rw, proc, sysfs', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t)
  const src = path.join(path.dirname(b.dir), 'share')
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'hello'), 'from the host\n')
  b.writeSpec((s) => {
    s.mounts!.push(
      {destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=1750', 'size=1m']},
      {destination: '/data-ro', type: 'bind', source: src, options: ['rbind', 'ro']},
      {destination: '/data-rw', type: 'bind', source: src, options: ['bind', 'rw']},
    )
    s.process!.args = sh([
      `${PROBE} mounts`, `${PROBE} stat /scratch`, `${PROBE} read /data-ro/hello`, `${PROBE} write /data-ro/x no`,
      `${PROBE} write /data-rw/written yes`, `${PROBE} write /scratch/f ok`, `${PROBE} read /proc/self/comm`,
    ].join('; echo ---; '))
  })
  const [mounts, scratch, roRead, roWrite, rwWrite, tmpWrite, comm] = sections(await runOut(b))
  const tmp = mountAt(mounts, '/scratch')
  assert.ok(tmp, `/scratch mounted:\n${mounts}`)
  assert.equal(tmp.fstype, 'tmpfs')
  for (const o of ['nosuid', 'nodev', 'noexec', 'rw']) assert.ok(tmp.opts.includes(o), `/scratch ${o}: ${tmp.opts}`)
  assert.ok(tmp.superOpts.includes('size=1024k') && tmp.superOpts.includes('mode=1750'), `tmpfs size and mode: ${tmp.superOpts}`)
  assert.match(scratch, /^type=dir mode=1750 /)
  assert.ok(mountAt(mounts, '/data-ro')!.opts.includes('ro'))
  assert.ok(mountAt(mounts, '/data-rw')!.opts.includes('rw'))
  assert.equal(roRead, 'from the host')
  assert.equal(roWrite, 'EROFS')
  assert.equal(rwWrite, 'ok')
  assert.equal(fs.readFileSync(path.join(src, 'written'), 'utf8'), 'yes', 'the rw bind wrote through to the host')
  assert.equal(tmpWrite, 'ok')
  assert.equal(comm, 'probe', 'proc is the container\'s own')
  assert.equal(mountAt(mounts, '/proc')?.fstype, 'proc')
  const sys = mountAt(mounts, '/sys')
  assert.equal(sys?.fstype, 'sysfs')
  assert.ok(sys!.opts.includes('ro'), 'sysfs read-only as asked')
})

test('read-only root, masked paths, read-only paths', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  // this kernel has no /proc/kcore: /proc/timer_list is the masked file here (non-empty on the host)
  assert.ok(fs.readFileSync('/proc/timer_list').length > 0)
  const kcore = fs.existsSync('/proc/kcore') ? `${PROBE} read /proc/kcore | wc -c` : 'echo 0'
  const b = containerBundle(t, {process: {args: sh([
    `${PROBE} write /newfile x`, `${PROBE} read /proc/timer_list | wc -c`, kcore, 'ls /proc/acpi | wc -l',
    `${PROBE} write /proc/sys/kernel/hostname x`, `${PROBE} write /proc/irq/default_smp_affinity 1`, `${PROBE} write /tmp/x y`, `${PROBE} mounts`,
  ].join('; echo ---; ') + '; true')}})
  const [root, timerList, kcoreSize, acpi, procSys, irq, tmp, mounts] = sections(await runOut(b))
  assert.equal(root, 'EROFS', 'root.readonly')
  assert.equal(timerList.trim(), '0', '/proc/timer_list is masked (reads empty)')
  assert.equal(kcoreSize.trim(), '0', '/proc/kcore is masked')
  assert.equal(acpi.trim(), '0', '/proc/acpi is masked (an empty directory)')
  assert.equal(procSys, 'EROFS', '/proc/sys is read-only')
  assert.equal(irq, 'EROFS', '/proc/irq is read-only')
  assert.equal(tmp, 'EROFS', 'the rootfs\'s /tmp is part of the read-only root')
  for (const p of ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys']) assert.ok(mountAt(mounts, p)?.opts.includes('ro'), `${p} mounted ro`)
  assert.ok(mountAt(mounts, '/')?.opts.includes('ro'), '/ mounted ro')
})

test('devices: defaults work, a spec device node gets its type, major:minor and mode; /dev symlinks', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, (s) => {
    s.linux!.devices = [{path: '/dev/testnull', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 0, gid: 0}]
    s.linux!.resources!.devices!.push({allow: true, type: 'c', major: 1, minor: 3, access: 'rwm'})
    s.process!.args = sh([
      `${PROBE} write /dev/null x`, `${PROBE} read /dev/null | wc -c`, `${PROBE} stat /dev/testnull`, `${PROBE} write /dev/testnull x`,
      ...['null', 'zero', 'full', 'random', 'urandom', 'tty'].map((d) => `${PROBE} stat /dev/${d}`),
      ...['fd', 'stdin', 'stdout', 'stderr', 'ptmx'].map((l) => `readlink /dev/${l}`),
    ].join('; echo ---; '))
  })
  const out = sections(await runOut(b))
  assert.equal(out[0], 'ok', 'write /dev/null')
  assert.equal(out[1].trim(), '0')
  assert.equal(out[2], 'type=chr mode=0640 uid=0 gid=0 rdev=1:3')
  assert.equal(out[3], 'ok', 'the spec device is usable (allowed in the devices cgroup)')
  const expected = {null: '1:3', zero: '1:5', full: '1:7', random: '1:8', urandom: '1:9', tty: '5:0'}
  Object.entries(expected).forEach(([d, rdev], i) => assert.match(out[4 + i], new RegExp(`^type=chr mode=0666 uid=0 gid=0 rdev=${rdev}$`), `/dev/${d}`))
  assert.deepEqual(out.slice(10), ['/proc/self/fd', '/proc/self/fd/0', '/proc/self/fd/1', '/proc/self/fd/2', 'pts/ptmx'])
})

test('user namespace: root inside, the mapped host uid outside', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'userns')) return
  const HOST = 200000
  const b = containerBundle(t)
  const share = path.join(path.dirname(b.dir), 'share')
  fs.mkdirSync(share, {mode: 0o777})
  fs.chmodSync(share, 0o777)
  fs.chmodSync(path.dirname(b.dir), 0o755) // the mapped root must reach the bind source
  b.writeSpec((s) => {
    s.linux!.namespaces!.push({type: 'user'})
    s.linux!.uidMappings = [{containerID: 0, hostID: HOST, size: 65536}]
    s.linux!.gidMappings = [{containerID: 0, hostID: HOST, size: 65536}]
    // /mnt exists in the rootfs: the mapped root could not create a mount point in the host-owned rootfs
    s.mounts!.push({destination: '/mnt', type: 'bind', source: share, options: ['rbind', 'rw']})
    s.process!.args = sh([`${PROBE} id`, `${PROBE} read /proc/self/uid_map`, `${PROBE} write /mnt/made-inside x`, `${PROBE} ns`].join('; echo ---; '))
  })
  const [id, uidMap, write, ns] = sections(await runOut(b))
  assert.equal(id, 'uid=0 gid=0 groups=')
  assert.deepEqual(uidMap.trim().split(/\s+/), ['0', String(HOST), '65536'])
  assert.equal(write, 'ok')
  const st = fs.statSync(path.join(share, 'made-inside'))
  assert.equal(st.uid, HOST, 'owned by the mapped host uid')
  assert.equal(st.gid, HOST)
  assert.notEqual(parseNs(ns).user, nsOf('self', 'user'))
})

test('cgroup and time namespaces: the container sees its cgroup as / and its own boot-time clock offset', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, (s) => {
    s.linux!.namespaces!.push({type: 'cgroup'}, {type: 'time'})
    s.linux!.timeOffsets = {boottime: {secs: 86400 * 365, nanosecs: 0}}
    s.process!.args = sh(`${PROBE} ns; ${PROBE} read /proc/self/cgroup; cat /proc/uptime`)
  })
  const [nsLine, ...rest] = (await runOut(b)).split('\n')
  const ns = parseNs(nsLine)
  assert.notEqual(ns.cgroup, nsOf('self', 'cgroup'), 'cgroup namespace is new')
  assert.notEqual(ns.time, nsOf('self', 'time'), 'time namespace is new')
  const cgroupLines = rest.filter((l) => /^\d+:/.test(l))
  assert.ok(cgroupLines.length > 0 && cgroupLines.every((l) => l.endsWith(':/')), `every hierarchy is rooted at the container's cgroup:\n${cgroupLines.join('\n')}`)
  const uptime = Number(rest.find((l) => /^\d+\.\d+ /.test(l))!.split(' ')[0])
  assert.ok(uptime > 86400 * 365, `boot-relative clock shifted by the offset? /proc/uptime says ${uptime}`)
})

test('--no-pivot runs the container with MS_MOVE + chroot, and rootfsPropagation is applied', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, (s) => {
    s.linux!.rootfsPropagation = 'private'
    s.process!.args = sh(`${PROBE} stat /bin/probe >/dev/null && echo rooted; ${PROBE} mounts`)
  })
  const r = await b.ocirt(['run', '--no-pivot', '--bundle', b.dir, b.id])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.stdout.startsWith('rooted\n'), r.stdout)
  const root = r.stdout.split('\n').find((l) => l.split(' ')[4] === '/')
  assert.ok(root, 'a mount at /')
  assert.ok(!/\bshared:|\bmaster:/.test(root!.split(' - ')[0]), `/ is private: ${root}`)
})

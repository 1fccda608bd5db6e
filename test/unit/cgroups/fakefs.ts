// A fake cgroupfs in a temp dir for the manager tests: hierarchies laid out like this host's hybrid v1 mount (or a
// pure v2 mount), and DirOps whose mkdir fills a new cgroup with the files the kernel would, and whose rmdir
// refuses (EBUSY) a cgroup that still has child cgroups, as cgroupfs does.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type {DirOps} from '../../../src/core/cgroups/fsio'

const V1_FILES: Record<string, Record<string, string>> = {
  cpu: {'cpu.shares': '1024', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_burst_us': '0',
    'cpu.rt_period_us': '1000000', 'cpu.rt_runtime_us': '0', 'cpu.idle': '0', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n'},
  cpuacct: {'cpuacct.usage': '0', 'cpuacct.usage_percpu': '0 0 ', 'cpuacct.stat': 'user 0\nsystem 0\n'},
  cpuset: {'cpuset.cpus': '', 'cpuset.mems': '', 'cpuset.cpu_exclusive': '0', 'cpuset.sched_load_balance': '1'},
  memory: {'memory.limit_in_bytes': '9223372036854771712', 'memory.memsw.limit_in_bytes': '9223372036854771712',
    'memory.soft_limit_in_bytes': '9223372036854771712', 'memory.usage_in_bytes': '0', 'memory.swappiness': '60',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n', 'memory.kmem.tcp.limit_in_bytes': '9223372036854771712',
    'memory.stat': 'cache 0\nrss 0\n', 'memory.failcnt': '0'},
  devices: {'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n'},
  freezer: {'freezer.state': 'THAWED\n', 'freezer.self_freezing': '0\n', 'freezer.parent_freezing': '0\n'},
  blkio: {'blkio.bfq.weight': '100', 'blkio.bfq.weight_device': '', 'blkio.throttle.read_bps_device': '',
    'blkio.throttle.write_bps_device': '', 'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': ''},
  pids: {'pids.max': 'max', 'pids.current': '0'},
  systemd: {},
  unified: {'cgroup.freeze': '0', 'cgroup.events': 'populated 0\nfrozen 0\n', 'cgroup.kill': ''},
}

export const V1_HIERARCHIES = Object.keys(V1_FILES)

// this host's /proc/self/mountinfo cgroup lines (ids trimmed), with a non-cgroup line to skip
export const HOST_MOUNTINFO = [
  '22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw',
  '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices',
  '36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer',
  '37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio',
  '38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
  '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n')

export const HOST_PROC_CGROUP = '9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n' +
  '4:memory:/process_api/abc\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n'

const V2_CONTROLLER_FILES: Record<string, Record<string, string>> = {
  cpu: {'cpu.weight': '100', 'cpu.max': 'max 100000', 'cpu.max.burst': '0', 'cpu.idle': '0', 'cpu.stat': 'usage_usec 0\n'},
  cpuset: {'cpuset.cpus': '', 'cpuset.mems': '', 'cpuset.cpus.effective': '0-3', 'cpuset.mems.effective': '0'},
  io: {'io.max': '', 'io.weight': 'default 100', 'io.stat': ''},
  memory: {'memory.max': 'max', 'memory.high': 'max', 'memory.low': '0', 'memory.swap.max': 'max', 'memory.current': '0', 'memory.stat': 'file 0\n'},
  pids: {'pids.max': 'max', 'pids.current': '0'},
  hugetlb: {'hugetlb.2MB.max': 'max', 'hugetlb.2MB.current': '0'},
}

export function tmpRoot(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ocirt-cg-${tag}-`))
}

function fill(dir: string, files: Record<string, string>): void {
  for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), v)
}

const rmdirLikeCgroupfs = (dir: string) => {
  const entries = fs.readdirSync(dir, {withFileTypes: true})
  if (entries.some((e) => e.isDirectory())) throw Object.assign(new Error(`EBUSY: resource busy, rmdir '${dir}'`), {code: 'EBUSY'})
  fs.rmSync(dir, {recursive: true})
}

/** A hybrid v1 tree like this host's, rooted at `root`; mkdir fills each new cgroup like the kernel. */
export function fakeV1(root: string): DirOps {
  for (const h of V1_HIERARCHIES) {
    fs.mkdirSync(path.join(root, h))
    fill(path.join(root, h), {'cgroup.procs': ''})
  }
  fill(path.join(root, 'cpuset'), {'cpuset.cpus': '0-3', 'cpuset.mems': '0'})
  fill(path.join(root, 'unified'), {'cgroup.controllers': ''})
  return {
    mkdir(dir) {
      fs.mkdirSync(dir)
      const h = path.relative(root, dir).split(path.sep)[0]
      fill(dir, {'cgroup.procs': '', ...V1_FILES[h]})
    },
    rmdir: rmdirLikeCgroupfs,
  }
}

/** A pure v2 tree at `root`; a new cgroup gets the files of the controllers its parent enabled. */
export function fakeV2(root: string, available = 'cpuset cpu io memory hugetlb pids'): DirOps {
  fill(root, {'cgroup.controllers': available, 'cgroup.subtree_control': '', 'cgroup.procs': ''})
  return {
    mkdir(dir) {
      fs.mkdirSync(dir)
      const enabled = fs.readFileSync(path.join(path.dirname(dir), 'cgroup.subtree_control'), 'utf8')
      const list = enabled.split(/\s+/).filter(Boolean).map((c) => c.replace(/^\+/, ''))
      fill(dir, {'cgroup.procs': '', 'cgroup.controllers': list.join(' '), 'cgroup.subtree_control': '',
        'cgroup.freeze': '0', 'cgroup.events': 'populated 0\nfrozen 0\n', 'cgroup.kill': ''})
      for (const c of list) fill(dir, V2_CONTROLLER_FILES[c] ?? {})
    },
    rmdir: rmdirLikeCgroupfs,
  }
}

export const read = (...p: string[]) => fs.readFileSync(path.join(...p), 'utf8')

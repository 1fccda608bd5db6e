// podman with ocirt as its OCI runtime, in private directories: storage (vfs), run root, tmp dir, events
// file, CNI config dir and containers.conf all under one temp dir, containers under a private cgroup parent.
// podman has no daemon; conmon (one per container) calls ocirt and outlives the podman command, and its exit
// command (`podman container cleanup`) runs after the container ends: the teardown waits for both.
//
// podman gives the runtime no --root (its --runtime-flag does not reach the exit command), so ocirt keeps
// these containers under its default root, /run/ocirt; their ids are podman's random 64-hex ids.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Cleanup} from '../cleanup'
import {ocirt} from '../ocirt'
import {OCIRT_BIN} from '../paths'
import {assertCmd, runCmd, shellLine, type CmdOptions, type CmdResult} from './command'
import {existing, findBin, IMAGE, privateDir, removeIfNewAndEmpty, securityOpts, uniqueName} from './common'
import {reapMentioning} from './daemon'
import {rootfsTarball} from './image'
import {assertRunByOcirt} from './proof'

/** ocirt's state root when no --root is given (as root). */
export const OCIRT_DEFAULT_ROOT = '/run/ocirt'

/** Created by podman outside its --root on import (containers/image's blob info cache), removed when new. */
const HOST_DIRS = ['/var/lib/containers/cache', '/var/lib/containers']

export class Podman {
  readonly bin: string
  /** Every path of this podman: storage, run root, tmp dir, config, events. */
  readonly dir: string
  /** --cgroup-parent of every container: /ocirt-podman-<pid>-<rand> (conmon goes to <parent>/conmon). */
  readonly cgroupParent: string
  private readonly env: NodeJS.ProcessEnv
  private readonly globals: string[]

  constructor(readonly cleanup: Cleanup) {
    this.bin = findBin('podman')!
    this.dir = privateDir('ocirt-podman')
    cleanup.dir(this.dir)
    this.cgroupParent = `/${uniqueName('ocirt-podman')}`
    cleanup.cgroup(this.cgroupParent)
    const hostDirsBefore = existing(HOST_DIRS)
    cleanup.add('podman host dirs', () => {
      const cache = HOST_DIRS[0]
      if (!hostDirsBefore.has(cache) && fs.existsSync(cache)) {
        for (const f of fs.readdirSync(cache)) if (f.startsWith('blob-info-cache')) fs.rmSync(path.join(cache, f), {force: true})
      }
      removeIfNewAndEmpty(hostDirsBefore, HOST_DIRS)
    })
    const conf = path.join(this.dir, 'containers.conf')
    fs.mkdirSync(path.join(this.dir, 'cni'))
    // netns none: no CNI bridge or iptables rules on the host. default_ulimits: root here lacks CAP_SYS_RESOURCE
    // and podman's default nofile of 1048576 fails for every runtime. runtime_supports_json: podman passes
    // --log-format=json --log FILE only to runtimes named there (by file name).
    fs.writeFileSync(conf, [
      '[containers]',
      'netns = "none"',
      'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]',
      '[engine]',
      'lock_type = "file"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${path.join(this.dir, 'events.log')}"`,
      `runtime_supports_json = ["${path.basename(OCIRT_BIN)}", "crun", "runc"]`,
      '[network]',
      `network_config_dir = "${path.join(this.dir, 'cni')}"`,
      '',
    ].join('\n'))
    this.env = {...process.env, CONTAINERS_CONF: conf}
    this.globals = [
      '--root', path.join(this.dir, 'root'),
      '--runroot', path.join(this.dir, 'runroot'),
      '--tmpdir', path.join(this.dir, 'tmp'),
      '--storage-driver', 'vfs',
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file',
      '--runtime', OCIRT_BIN,
    ]
    cleanup.add('podman containers', () => this.teardown())
  }

  /** `podman <private globals> ARGS`. */
  podman(args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
    return runCmd(this.bin, [...this.globals, ...args], {env: this.env, ...opts})
  }

  /** The command line as a string for `script -c`, with the private config in its environment. */
  shellCommand(args: string[]): string {
    return shellLine(this.bin, [...this.globals, ...args], {CONTAINERS_CONF: this.env.CONTAINERS_CONF!})
  }

  /** Flags every `podman run` of the tests takes: the private cgroup parent and the seccomp switch. */
  runFlags(): string[] {
    return ['--cgroup-parent', this.cgroupParent, ...securityOpts()]
  }

  /** `podman import` of the test rootfs as IMAGE. */
  async importImage(): Promise<void> {
    assertCmd(await this.podman(['import', rootfsTarball(this.dir), IMAGE]), 'podman import')
  }

  async inspect(id: string, format: string): Promise<string> {
    return assertCmd(await this.podman(['inspect', '--format', format, id]), `podman inspect ${id}`).stdout.trim()
  }

  /** Fails unless ocirt (its state under /run/ocirt) runs container ID with the pid podman reports. */
  async assertRunByOcirt(id: string): Promise<void> {
    const full = await this.inspect(id, '{{.Id}}')
    await assertRunByOcirt(OCIRT_DEFAULT_ROOT, full, Number(await this.inspect(id, '{{.State.Pid}}')))
  }

  /** ocirt's containers (under /run/ocirt) whose bundle is in this podman's storage: none once podman removed its containers. */
  async ocirtContainers(): Promise<{id: string; status: string}[]> {
    const r = await ocirt(['list', '--format', 'json'], {root: OCIRT_DEFAULT_ROOT})
    if (r.code !== 0) throw new Error(`ocirt list: ${r.stderr}`)
    const all = (r.json() ?? []) as {id: string; status: string; bundle: string}[]
    return all.filter((c) => c.bundle.startsWith(this.dir + '/'))
  }

  /** Remove every container and image, wait for conmon and cleanup processes, delete what ocirt still has. */
  private async teardown(): Promise<void> {
    await this.podman(['rm', '-af', '-t', '0'])
    await this.podman(['rmi', '-af'])
    await reapMentioning(this.dir)
    for (const c of await this.ocirtContainers()) {
      const r = await ocirt(['delete', '--force', c.id], {root: OCIRT_DEFAULT_ROOT, timeoutMs: 30_000})
      if (r.code !== 0) process.stderr.write(`podman cleanup: ocirt delete --force ${c.id}: ${r.stderr}\n`)
    }
  }
}

// A private dockerd for one test file, on a private containerd (./containerd.ts): data root (vfs storage),
// exec root, pid file, API socket, daemon config and containerd namespaces of its own; no bridge, iptables,
// NAT or forwarding; containers under a private cgroup parent; ocirt registered with --add-runtime
// ocirt=bin/ocirt. dockerd runs containers through containerd's runc v2 shim with ocirt as the binary and
// <exec-root>/runtime-<name>/<namespace> as its --root.
//
// dockerd creates /run/docker/plugins whatever its exec root: removed afterwards when this run created it.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Cleanup} from '../cleanup'
import {OCIRT_BIN} from '../paths'
import {assertCmd, runCmd, shellLine, type CmdOptions, type CmdResult} from './command'
import {existing, findBin, IMAGE, privateDir, removeIfNewAndEmpty, securityOpts, uniqueName} from './common'
import {startDaemon, stopDaemon, waitReady, type Daemon} from './daemon'
import {rootfsTarball} from './image'
import {deleteOcirtContainers} from './proof'
import {Containerd} from './containerd'

/** The name ocirt is registered under (docker run --runtime RUNTIME_NAME). */
export const RUNTIME_NAME = 'ocirt'

const HOST_DIRS = ['/run/docker/plugins', '/run/docker']

/** The docker CLI of the docker.io package first: another docker in PATH may speak a newer API. */
export function dockerCli(): string | undefined {
  return findBin('/usr/bin/docker', 'docker')
}

export class Dockerd {
  readonly dir: string
  readonly socket: string
  readonly execRoot: string
  /** dockerd's containerd namespace (--containerd-namespace). */
  readonly namespace: string
  /** --cgroup-parent: every container's cgroup is <cgroupParent>/<id>. */
  readonly cgroupParent: string
  private daemon?: Daemon

  private constructor(readonly cleanup: Cleanup, readonly containerd: Containerd, dir: string, namespace: string) {
    this.dir = dir
    this.socket = path.join(this.dir, 'docker.sock')
    this.execRoot = path.join(this.dir, 'exec')
    this.namespace = namespace
    this.cgroupParent = `/${uniqueName('ocirt-docker')}`
    cleanup.cgroup(this.cgroupParent)
  }

  /** Start a private containerd, then dockerd on it; resolves once the API answers. */
  static async start(cleanup: Cleanup): Promise<Dockerd> {
    const dir = privateDir('ocirt-dockerd')
    cleanup.dir(dir)
    const namespace = uniqueName('ocirt-moby')
    // runs last (custom steps go in reverse): what ocirt still keeps once dockerd and containerd are gone
    cleanup.add('ocirt state of dockerd', async () => {
      const exec = path.join(dir, 'exec')
      for (const rt of fs.existsSync(exec) ? fs.readdirSync(exec) : []) {
        if (rt.startsWith('runtime-')) await deleteOcirtContainers(path.join(exec, rt, namespace))
      }
    })
    const containerd = await Containerd.start(cleanup, {extraNamespaces: [namespace]})
    const d = new Dockerd(cleanup, containerd, dir, namespace)
    const hostDirsBefore = existing(HOST_DIRS)
    cleanup.add('dockerd host dirs', () => removeIfNewAndEmpty(hostDirsBefore, HOST_DIRS))
    const config = path.join(d.dir, 'daemon.json')
    // deprecated-key-path: else dockerd writes /etc/docker/key.json
    fs.writeFileSync(config, JSON.stringify({'deprecated-key-path': path.join(d.dir, 'key.json')}))
    d.daemon = startDaemon('dockerd', findBin('dockerd')!, [
      '--config-file', config,
      '--data-root', path.join(d.dir, 'data'),
      '--exec-root', d.execRoot,
      '--pidfile', path.join(d.dir, 'docker.pid'),
      '-H', `unix://${d.socket}`,
      '--containerd', containerd.socket,
      '--containerd-namespace', d.namespace,
      '--containerd-plugins-namespace', `${d.namespace}-plugins`,
      '--storage-driver', 'vfs',
      '--cgroup-parent', d.cgroupParent,
      '--bridge', 'none',
      '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false', '--userland-proxy=false',
      '--add-runtime', `${RUNTIME_NAME}=${OCIRT_BIN}`,
    ], path.join(d.dir, 'dockerd.log'))
    cleanup.add('dockerd', () => d.teardown())
    await waitReady(d.daemon, async () => (await d.docker(['version'], {timeoutMs: 10_000})).code === 0)
    return d
  }

  /** `docker -H unix://SOCKET ARGS`, with a private client config dir. */
  docker(args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
    const env = {...process.env, DOCKER_CONFIG: path.join(this.dir, 'client')}
    return runCmd(dockerCli()!, ['-H', `unix://${this.socket}`, ...args], {env, ...opts})
  }

  /** The docker command line as a string for a terminal (onTerminal). */
  shellCommand(args: string[]): string {
    return shellLine(dockerCli()!, ['-H', `unix://${this.socket}`, ...args], {DOCKER_CONFIG: path.join(this.dir, 'client')})
  }

  /** Flags every `docker run` of the tests takes: ocirt as the runtime and the seccomp switch. */
  runFlags(): string[] {
    return ['--runtime', RUNTIME_NAME, ...securityOpts()]
  }

  /** `docker import` of the test rootfs as IMAGE. */
  async importImage(): Promise<void> {
    assertCmd(await this.docker(['import', rootfsTarball(this.dir), IMAGE]), 'docker import')
  }

  async inspect(id: string, format: string): Promise<string> {
    return assertCmd(await this.docker(['inspect', '--format', format, id]), `docker inspect ${id}`).stdout.trim()
  }

  /** The --root the shim gave ocirt for container ID (docker 20.10 names it runtime-runc for every runtime). */
  ocirtStateRootOf(id: string): string {
    for (const dir of fs.existsSync(this.execRoot) ? fs.readdirSync(this.execRoot) : []) {
      const root = path.join(this.execRoot, dir, this.namespace)
      if (dir.startsWith('runtime-') && fs.existsSync(path.join(root, id))) return root
    }
    throw new Error(`no runtime state of ${id} under ${this.execRoot}/runtime-*/${this.namespace}`)
  }

  /** Remove every container and image, then stop dockerd by its pid (containerd's cleanup follows). */
  private async teardown(): Promise<void> {
    if (!this.daemon || this.daemon.child.exitCode !== null) return
    const ids = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean)
    if (ids.length > 0) await this.docker(['rm', '-f', ...ids])
    await this.docker(['image', 'rm', '-f', IMAGE])
    await stopDaemon(this.daemon)
  }
}

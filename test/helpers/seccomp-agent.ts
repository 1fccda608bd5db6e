// A tiny seccomp agent for the notify tests, run as its own process (`node seccomp-agent.js SOCKET LOG`): it
// listens on SOCKET, takes every listener fd ocirt sends there (SCM_RIGHTS) with the container process state,
// and answers notifications: mkdir and mkdirat "succeed" without doing anything (val 0), every other call
// continues in the kernel. It appends one JSON line per event to LOG, which the test reads.
//
//   const agent = startSeccompAgent(t, dir)         // spawns it, registered with the cleanup
//   await agent.ready
//   agent.events()  // [{event: 'listener', state: {...}}, {event: 'notification', syscall: 83, pid: 123, answer: 'success'}]
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {cleanupFor, type AfterHost} from './cleanup'

export interface AgentEvent {
  event: 'listening' | 'listener' | 'notification'
  state?: {ociVersion: string; fds: string[]; pid: number; metadata?: string; state: Record<string, unknown>}
  syscall?: number
  pid?: number
  answer?: 'success' | 'continue'
}

export interface SeccompAgent {
  socket: string
  ready: Promise<void>
  events(): AgentEvent[]
}

export function startSeccompAgent(owner: AfterHost, dir: string): SeccompAgent {
  const socket = path.join(dir, 'agent.sock')
  const log = path.join(dir, 'agent.log')
  fs.writeFileSync(log, '')
  const child = spawn(process.execPath, [__filename, socket, log], {stdio: ['ignore', 'inherit', 'inherit']})
  cleanupFor(owner).pid(child)
  const events = (): AgentEvent[] => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AgentEvent)
  const ready = new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 10_000
    const poll = () => {
      if (events().some((e) => e.event === 'listening')) return resolve()
      if (child.exitCode !== null || Date.now() > deadline) return reject(new Error(`seccomp agent did not start (exit ${child.exitCode})`))
      setTimeout(poll, 20)
    }
    poll()
  })
  return {socket, ready, events}
}

// ---- the agent process ----

const SYS_MKDIR = 83
const SYS_MKDIRAT = 258
const NOTIF_RECV = 0xc0502100 // SECCOMP_IOCTL_NOTIF_RECV: _IOWR('!', 0, struct seccomp_notif) (80 bytes)
const NOTIF_SEND = 0xc0182101 // SECCOMP_IOCTL_NOTIF_SEND: _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes)
const FLAG_CONTINUE = 1
const POLLIN = 1

function agentMain(socket: string, log: string): void {
  const koffi = require('koffi') as typeof import('koffi')
  const libc = koffi.load('libc.so.6')
  type Fn = (...a: unknown[]) => number
  const f = (sig: string) => libc.func(sig) as Fn
  koffi.struct('agent_iovec', {base: 'void *', len: 'size_t'})
  koffi.struct('agent_msghdr', {name: 'void *', namelen: 'uint32', iov: 'agent_iovec *', iovlen: 'size_t', control: 'void *', controllen: 'size_t', flags: 'int'})
  const sock = f('int socket(int, int, int)')
  const bind = f('int bind(int, const void *, uint32)')
  const listen = f('int listen(int, int)')
  const accept = f('int accept(int, void *, void *)')
  const recvmsg = f('long recvmsg(int, agent_msghdr *, int)')
  const poll = f('int poll(void *, unsigned long, int)')
  const ioctl = f('int ioctl(int, unsigned long, void *)')
  const close = f('int close(int)')
  const emit = (e: AgentEvent) => fs.appendFileSync(log, `${JSON.stringify(e)}\n`)

  const server = sock(1, 1, 0)
  const addr = Buffer.alloc(110)
  addr.writeUInt16LE(1, 0)
  addr.write(socket, 2)
  if (server < 0 || bind(server, addr, addr.length) < 0 || listen(server, 8) < 0) throw new Error(`cannot listen on ${socket}: errno ${koffi.errno()}`)
  emit({event: 'listening'})

  const listeners: number[] = []
  for (;;) {
    const fds = [server, ...listeners]
    const pfd = Buffer.alloc(8 * fds.length)
    fds.forEach((fd, i) => { pfd.writeInt32LE(fd, 8 * i); pfd.writeInt16LE(POLLIN, 8 * i + 4) })
    if (poll(pfd, fds.length, -1) < 0) continue
    fds.forEach((fd, i) => {
      const revents = pfd.readInt16LE(8 * i + 6)
      if (!revents) return
      if (fd === server) return takeListener()
      if (!(revents & POLLIN)) { // POLLHUP: every process under the filter is gone
        close(fd)
        listeners.splice(listeners.indexOf(fd), 1)
        return
      }
      answer(fd)
    })
  }

  function takeListener(): void {
    const conn = accept(server, null, null)
    if (conn < 0) return
    const data = Buffer.alloc(65536)
    const control = Buffer.alloc(64)
    const n = recvmsg(conn, {name: null, namelen: 0, iov: {base: data, len: data.length}, iovlen: 1, control, controllen: control.length, flags: 0}, 0)
    close(conn)
    if (n <= 0 || control.readInt32LE(8) !== 1 || control.readInt32LE(12) !== 1) throw new Error(`no SCM_RIGHTS message (n=${n})`)
    listeners.push(control.readInt32LE(16))
    emit({event: 'listener', state: JSON.parse(data.toString('utf8', 0, n))})
  }

  function answer(fd: number): void {
    const notif = Buffer.alloc(80)
    if (ioctl(fd, NOTIF_RECV, notif) < 0) return // the caller went away meanwhile
    const id = notif.readBigUInt64LE(0)
    const pid = notif.readUInt32LE(8)
    const nr = notif.readInt32LE(16)
    const success = nr === SYS_MKDIR || nr === SYS_MKDIRAT
    const resp = Buffer.alloc(24)
    resp.writeBigUInt64LE(id, 0)
    resp.writeUInt32LE(success ? 0 : FLAG_CONTINUE, 20)
    ioctl(fd, NOTIF_SEND, resp)
    emit({event: 'notification', syscall: nr, pid, answer: success ? 'success' : 'continue'})
  }
}

if (require.main === module) agentMain(process.argv[2], process.argv[3])

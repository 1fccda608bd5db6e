// The source's end of the agent conversation: typed requests over the remote agent's stdin/stdout. When the agent
// or the connection goes away, every pending and later request fails with what the agent last said on stderr.
import type {Readable, Writable} from 'node:stream'
import {AGENT_PING_MS, readLines, writeLine, type Op, type Requests, type ResponseMessage} from './protocol'

export class AgentGone extends Error {
  constructor(detail: string) {
    super(detail)
    this.name = 'AgentGone'
  }
}

export class AgentClient {
  private seq = 0
  private readonly pending = new Map<number, {resolve: (v: unknown) => void; reject: (e: Error) => void}>()
  private gone?: string
  private stderrTail = ''
  private readonly pinger: NodeJS.Timeout

  constructor(private readonly input: Writable, output: Readable, stderr: Readable, private readonly label: string) {
    // the agent's lease (protocol.ts): it must hear from us even while we wait on a long request
    this.pinger = setInterval(() => this.gone || writeLine(this.input, {op: 'ping'}), AGENT_PING_MS)
    this.pinger.unref()
    input.on('error', (err: Error) => this.end(`writing to it failed: ${err.message}`))
    stderr.setEncoding('utf8')
    stderr.on('data', (s: string) => (this.stderrTail = (this.stderrTail + s).slice(-2000)))
    readLines(output, (msg) => this.settle(msg as ResponseMessage), () => this.end('the agent closed its output'))
  }

  request<K extends Op>(op: K, params: Requests[K]['params']): Promise<Requests[K]['result']> {
    if (this.gone) return Promise.reject(new AgentGone(this.gone))
    const id = ++this.seq
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve: resolve as (v: unknown) => void, reject})
      writeLine(this.input, {id, op, params})
    })
  }

  /** the connection or the agent ended: fail everything still waiting */
  end(why: string): void {
    clearInterval(this.pinger)
    if (this.gone) return
    const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ')
    this.gone = `the migration agent on ${this.label} went away: ${why}${tail ? ` (it said: ${tail})` : ''}`
    for (const p of this.pending.values()) p.reject(new AgentGone(this.gone))
    this.pending.clear()
  }

  get alive(): boolean {
    return !this.gone
  }

  /** Closing stdin ends the conversation; an agent that was not told `commit` then undoes its work. */
  close(): void {
    clearInterval(this.pinger)
    this.input.end()
  }

  private settle(msg: ResponseMessage): void {
    const p = this.pending.get(msg?.id)
    if (!p) return
    this.pending.delete(msg.id)
    if (msg.ok) p.resolve(msg.result)
    else p.reject(new Error(msg.error))
  }
}

// How a migration words its failures and bounds its waits on the other host.
import {OcirtError} from '../core/errors'
import {AgentGone} from './agent/client'

/** The error's own words, without the "migrate <id>: <step>:" head the MigrationFailed puts back. */
export function bareCause(err: Error): string {
  if (err instanceof OcirtError && !(err instanceof AgentGone)) {
    const head = [err.verb, err.id].filter(Boolean).join(' ')
    const prefix = [head, err.step].filter(Boolean).join(': ')
    if (prefix && err.message.startsWith(`${prefix}: `)) return err.message.slice(prefix.length + 2)
  }
  return err.message
}

/** p, or a rejection naming `what` once ms have passed. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer))
}

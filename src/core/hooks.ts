// OCI hooks run in the runtime's namespaces (prestart, createRuntime, poststart, poststop): the state JSON on
// stdin, the hook's own args and env, an optional timeout. createContainer hooks run inside the container's
// namespaces and are started through the helper (lifecycle/container-hooks.ts) with the same rules.
import type {Hook} from './spec/types'
import {OcirtError} from './errors'
import {warn} from './log'

export type HookPhase = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop'

export interface HookFailure extends OcirtError {
  phase: HookPhase
}

/** ctx.bundle is the hooks' working directory, as with runc (hooks may use relative paths from there). */
export interface HookContext {
  verb: string
  id: string
  bundle: string
}

export async function runHooks(phase: HookPhase, hooks: Hook[] | undefined, stateJson: string, ctx: HookContext): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    await runHook(hook, stateJson, (detail) => hookError(detail, phase, i, hook, ctx), ctx.bundle)
  }
}

function hookError(detail: string, phase: HookPhase, i: number, hook: Hook, ctx: HookContext): OcirtError {
  return new OcirtError(detail, {verb: ctx.verb, id: ctx.id, step: `${phase} hook #${i} (${hook.path})`})
}

/**
 * poststart and poststop: the spec says a failing hook is logged as a warning and "the remaining hooks and
 * lifecycle continue as if the hook had succeeded", so every hook of the phase runs whatever the others do.
 */
export async function runHooksWarnOnly(phase: HookPhase, hooks: Hook[] | undefined, stateJson: string, ctx: HookContext): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    try {
      await runHook(hook, stateJson, (detail) => hookError(detail, phase, i, hook, ctx), ctx.bundle)
    } catch (err) {
      warn((err as Error).message)
    }
  }
}

export function runHook(hook: Hook, stateJson: string, fail: (detail: string) => OcirtError, cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // loaded only when a hook runs: child_process and its streams cost ~5 ms on every create/start otherwise
    const {spawn} = require('node:child_process') as typeof import('node:child_process')
    const child = spawn(hook.path, (hook.args ?? [hook.path]).slice(1), {
      cwd,
      argv0: hook.args?.[0] ?? hook.path,
      env: Object.fromEntries((hook.env ?? []).map((e) => splitEnv(e))),
      stdio: ['pipe', 'ignore', 'pipe'],
    })
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)))
    child.stdin!.on('error', () => undefined) // a hook that does not read stdin is fine
    child.stdin!.end(stateJson)
    if (hook.timeout && hook.timeout > 0) {
      timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(fail(`timed out after ${hook.timeout}s`))
      }, hook.timeout * 1000)
    }
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(fail(`cannot run: ${err.message}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) return resolve()
      const how = signal ? `killed by ${signal}` : `exit status ${code}`
      const settle = () => reject(fail(`${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}`))
      // 'exit' may come before the last of stderr was read; wait for its end, briefly (the hook's own children
      // may keep it open)
      if (child.stderr!.readableEnded) return settle()
      const late = setTimeout(settle, 200)
      child.stderr!.once('close', () => {
        clearTimeout(late)
        settle()
      })
    })
  })
}

function splitEnv(e: string): [string, string] {
  const i = e.indexOf('=')
  return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)]
}

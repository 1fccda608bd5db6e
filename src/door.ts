// The fast door (ARCHITECTURE.md §3): the runc verbs engines call go through a small dispatcher that never
// loads oclif (~100 ms), and so does `migrate` when no plugin is installed; help, plugins and unknown verbs go to
// oclif. Shared by the bundles: src/index.ts (every verb), src/query.ts (state and list alone, for less code to
// read and deserialize) and src/migrate-door.ts (both sides of a migration).
import * as fs from 'node:fs'
import {GLOBAL_FLAGS} from './commands/_verbs/global-flags'
import {missingRequired, parseArgv, splitGlobal, UsageError} from './commands/_verbs/argv'
import type {FlagValues, VerbSpec} from './commands/_verbs/types'
import type {Runtime} from './core/runtime'
import {runtimeFrom} from './commands/_verbs/runtime-from'
import {configureLog, reportError} from './core/log'
import {OcirtError} from './core/errors'
import {pluginOverride, pluginRoots, runPluginCommand, type PluginCommand} from './commands/_verbs/plugin-overrides'

export type Verbs = Record<string, () => VerbSpec>

/**
 * The `other` door of the smaller bundles (query, migrate): loads the full bundle (scripts/ocirt-loader.js keeps
 * its loader under a global symbol), which starts over from process.argv, answers and exits.
 */
export function handToMainBundle(): Promise<number> {
  ;(globalThis as unknown as Record<symbol, () => void>)[Symbol.for('ocirt.loadMain')]()
  return new Promise<number>(() => undefined)
}

/**
 * Serves `argv` with the fast door if its verb is in `verbs`; anything else (help, --version, a verb elsewhere,
 * a plugin's override) goes to `other`, which is the oclif door in the full bundle.
 */
async function main(argv: string[], VERBS: Verbs, other: typeof humanDoor): Promise<number> {
  const {global, verb, rest} = splitGlobal(argv, GLOBAL_FLAGS)
  if (global.includes('--version') || global.includes('-v')) return other === humanDoor ? printVersion() : other(global, verb, rest)
  const wantsHelp = global.some(isHelp) || (verb !== undefined && verbWantsHelp(VERBS, verb, rest))
  const override = verb && VERBS[verb] && !wantsHelp ? pluginOverride(verb) : undefined
  if (!verb || wantsHelp || !VERBS[verb] || override) return other(global, verb, rest, override)
  const spec = VERBS[verb]()
  // a verb plugins hook into goes through oclif, which runs their hooks, as soon as any plugin is installed
  if (spec.oclifFallback && pluginRoots().length > 0) return other(global, verb, rest)

  // nothing has run yet when a parse fails: oclif may read it all again (global flags after the verb) or word the refusal
  const refused = (err: unknown) => (spec.oclifFallback && err instanceof UsageError ? other(global, verb, rest) : fail(err))
  const strict = spec.oclifFallback
  let globals: FlagValues
  try {
    globals = parseArgv(global, GLOBAL_FLAGS, {strict}).flags
  } catch (err) {
    return refused(err)
  }
  // before the verb's own parse, so that its usage errors go to --log in --log-format as runc's do
  configureLog({file: globals.log as string | undefined, format: globals['log-format'] === 'json' ? 'json' : 'text', debug: globals.debug === true})
  let parsed: ReturnType<typeof parseArgv>
  let bound: ReturnType<typeof bindArgs>
  try {
    parsed = parseArgv(rest, spec.flags, {stopAtPositional: spec.stopAtPositional, strict})
    bound = bindArgs(verb, spec, parsed.positionals)
    const missing = missingRequired(parsed.flags, spec.flags)
    if (missing) throw missing
  } catch (err) {
    return refused(err)
  }
  try {
    if (spec.naturalExit) naturalExit = true
    const {args, extra} = bound
    let rt: Runtime | undefined
    const code = await spec.run({
      get rt() {
        return (rt ??= runtimeFrom(globals))
      },
      args,
      rest: extra,
      flags: parsed.flags,
      stdout: writeStdout,
    })
    return code ?? 0
  } catch (err) {
    return fail(err)
  }
}

/**
 * Straight to fd 1: touching process.stdout builds Node's whole stream stack (~2 ms of every `state`).
 * A non-blocking stdout (inherited from an event-loop parent) may say EAGAIN: wait and retry.
 */
function writeStdout(text: string): void {
  const buf = Buffer.from(text)
  for (let off = 0; off < buf.length;) {
    try {
      off += fs.writeSync(1, buf, off)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
    }
  }
}

function isHelp(token: string): boolean {
  return token === '--help' || token === '-h'
}

/** `-h` is a help request only where the verb parses flags: `ocirt exec c1 ls -h` runs `ls -h`, as with runc. */
function verbWantsHelp(VERBS: Verbs, verb: string, rest: string[]): boolean {
  const spec = VERBS[verb]?.()
  if (!spec) return rest.some(isHelp)
  for (let i = 0; i < rest.length; i++) {
    const tok = rest[i]
    if (tok === '--') return false
    if (isHelp(tok)) return true
    if (tok.startsWith('-') && tok !== '-') {
      const key = tok.replace(/^--?/, '').split('=')[0]
      const flag = spec.flags[key] ?? Object.values(spec.flags).find((f) => f.char === key)
      if (flag && flag.type !== 'boolean' && !tok.includes('=')) i++ // skip the flag's value
    } else if (spec.stopAtPositional) {
      return false
    }
  }
  return false
}

function bindArgs(verb: string, spec: VerbSpec, positionals: string[]): {args: Record<string, string | undefined>; extra: string[]} {
  const required = spec.args.filter((a) => a.required).length
  if (positionals.length < required || (!spec.variadic && positionals.length > spec.args.length)) {
    const n = spec.args.length
    const what = spec.variadic ? `a minimum of ${required}` : required === n ? `exactly ${n}` : `between ${required} and ${n}`
    throw new UsageError(`ocirt: "${verb}" requires ${what} argument(s)`)
  }
  const args: Record<string, string | undefined> = {}
  spec.args.forEach((a, i) => (args[a.name] = positionals[i]))
  return {args, extra: positionals.slice(spec.args.length)}
}

/** runc's error reporting: with --log, a plain line on stderr and a formatted one in the log; else logrus text. */
function fail(err: unknown): number {
  const msg = err instanceof Error ? err.message : String(err)
  reportError(msg)
  if (!(err instanceof OcirtError) && !(err instanceof UsageError) && process.env.OCIRT_DEBUG_STACK) process.stderr.write(`${(err as Error).stack}\n`)
  return err instanceof OcirtError ? err.exitCode : 1
}

function printVersion(): number {
  const {version, SPEC_VERSION} = require('./core/version') as typeof import('./core/version')
  process.stdout.write(`ocirt version ${version()}\nspec: ${SPEC_VERSION}\nnode: ${process.version}\n`)
  return 0
}

/** oclif: help, plugins, plugin commands, and migrate with plugins installed or an argv its fast parse refused.
 * Global flags move after the verb, where oclif parses them. A verb that neither ocirt nor a plugin knows fails as
 * runc's does: "No help topic for 'X'", exit 3. */
let oclifDoor = false

export async function humanDoor(global: string[], verb: string | undefined, rest: string[], override?: PluginCommand): Promise<number> {
  oclifDoor = true
  const saved = process.env.OCIRT_SAVED_NODE_EXTRA_CA_CERTS
  if (saved) process.env.NODE_EXTRA_CA_CERTS = saved // for children such as npm (plugins install)
  if (override && (await runPluginCommand(override, [...rest, ...global], __filename))) return exitCode()
  const {Config, execute} = require('@oclif/core') as typeof import('@oclif/core')
  const config = await Config.load(__filename)
  if (verb && !config.findCommand(verb) && !config.findTopic(verb)) {
    try {
      const globals = parseArgv(global, GLOBAL_FLAGS).flags
      configureLog({file: globals.log as string | undefined, format: globals['log-format'] === 'json' ? 'json' : 'text', debug: false})
    } catch {
      // a bad global flag does not hide the unknown verb
    }
    fail(new UsageError(`No help topic for '${verb}'`))
    return 3
  }
  const args = verb ? [verb, ...rest, ...global] : ['--help'] // no verb: runc shows its help, whatever the globals
  await execute({args, loadOptions: config})
  return exitCode()
}

function exitCode(): number {
  return typeof process.exitCode === 'number' ? process.exitCode : 0
}

// The engine-facing verbs exit as soon as they are done: their output is written synchronously, and what they
// leave running (a created container's helper) is detached. Leaving through process.exit skips Node's teardown
// of the heap at the natural end of the event loop, ~2-5 ms of every call. The oclif door ends naturally.
export function enter(verbs: Verbs, other: typeof humanDoor = humanDoor): void {
  main(process.argv.slice(2), verbs, other).then(
    (code) => exit(code),
    (err) => exit(fail(err)),
  )
}

/** set by a verb that must not be cut short by process.exit (the migration agent: VerbSpec.naturalExit) */
let naturalExit = false

function exit(code: number): void {
  if (oclifDoor || naturalExit) process.exitCode = code
  else process.exit(code)
}

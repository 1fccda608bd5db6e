// The definition of a verb, shared by both doors: the fast dispatcher (src/index.ts, no oclif) parses argv
// against `flags`/`args` and calls `run`; the oclif command class (src/commands/<verb>.ts) turns the same
// table into oclif flags for help and plugins. One table, so the two can never disagree.
import type {Runtime} from '../../core/runtime'

export interface FlagSpec {
  type: 'boolean' | 'string' | 'integer'
  description: string
  char?: string
  default?: string | number | boolean
  /** may be given many times; the value is an array */
  multiple?: boolean
  options?: readonly string[]
  hidden?: boolean
  /** the verb refuses to run without it (checked after parsing: missingRequired) */
  required?: boolean
  /** integers: the least value taken */
  min?: number
}

export interface ArgSpec {
  name: string
  description: string
  required?: boolean
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>

export interface VerbContext {
  /** the runtime built from the global flags (created on first use) */
  readonly rt: Runtime
  args: Record<string, string | undefined>
  /** positional words after the declared args (e.g. the command of `exec`) */
  rest: string[]
  flags: FlagValues
  stdout: (text: string) => void
  /** oclif's Config when the oclif door serves the verb (its plugins' hooks can be run), else undefined */
  oclifConfig?: unknown
}

export interface VerbSpec {
  summary: string
  description?: string
  args: ArgSpec[]
  flags: Record<string, FlagSpec>
  /** stop flag parsing at the first positional word (runc's exec, ps: the rest belongs to the command) */
  stopAtPositional?: boolean
  /** extra positional words are allowed and land in ctx.rest */
  variadic?: boolean
  /** not listed in help (a verb for ocirt itself, such as migrate-agent) */
  hidden?: boolean
  /** the fast door lets the process end by itself (the event loop drains) instead of calling process.exit */
  naturalExit?: boolean
  /**
   * A verb people type, not engines (migrate): the fast door serves it only when no plugin is installed (plugins
   * hook into it through oclif), and hands to oclif whatever its parser refuses (oclif also reads global flags
   * after the verb, and words the usage errors people are used to).
   */
  oclifFallback?: boolean
  /** shown in help */
  examples?: string[]
  /** the exit status; undefined means 0 */
  run(ctx: VerbContext): Promise<number | void>
}

export function defineVerb(spec: VerbSpec): VerbSpec {
  return spec
}

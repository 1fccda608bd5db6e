// A small argv parser with runc's (urfave/cli's) habits, for the fast door: `--flag value`, `--flag=value`,
// `-f value`, Go's single-dash long flags (`-no-subreaper`), repeated flags, `--` and, for verbs that run a
// command, stopping at the first positional word. Errors read like runc's.
import type {FlagSpec, FlagValues} from './types'

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface Parsed {
  flags: FlagValues
  positionals: string[]
}

/**
 * `strict` (the verbs oclif also serves, VerbSpec.oclifFallback): refuses, for oclif to decide, what runc's habits
 * accept and oclif does not: Go's single-dash long flags, a value on a boolean flag, a flag given twice that takes
 * one value, and a value that looks like a flag (`--remote-root --dry-run` must not eat the dry run).
 */
export function parseArgv(argv: string[], table: Record<string, FlagSpec>, opts: {stopAtPositional?: boolean; strict?: boolean} = {}): Parsed {
  const byChar = new Map<string, string>()
  for (const [name, f] of Object.entries(table)) if (f.char) byChar.set(f.char, name)
  const flags: FlagValues = {}
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]
    if (tok === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    const hit = tok.length > 1 && tok.startsWith('-') ? lookup(tok, table, byChar) : undefined
    if (hit && opts.strict) refuseLoose(tok, hit, table[hit.name], flags)
    if (!hit) {
      if (tok.startsWith('-') && tok !== '-') throw new UsageError(`flag provided but not defined: ${tok.replace(/=.*/, '')}`)
      positionals.push(tok)
      if (opts.stopAtPositional) {
        positionals.push(...argv.slice(i + 1))
        break
      }
      continue
    }
    const {name, inline} = hit
    const spec = table[name]
    let value: string | boolean
    if (spec.type === 'boolean') {
      value = inline === undefined ? true : parseBool(name, inline)
    } else if (inline !== undefined) {
      value = inline
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`)
      value = argv[++i]
      if (opts.strict && value.length > 1 && value.startsWith('-')) throw new UsageError(`flag --${name}: its value ${value} looks like a flag`)
    }
    setFlag(flags, name, spec, value)
  }
  for (const [name, spec] of Object.entries(table)) {
    if (flags[name] === undefined && spec.default !== undefined) flags[name] = spec.default
  }
  return {flags, positionals}
}

function lookup(tok: string, table: Record<string, FlagSpec>, byChar: Map<string, string>): {name: string; inline?: string} | undefined {
  const body = tok.replace(/^--?/, '')
  const eq = body.indexOf('=')
  const key = eq < 0 ? body : body.slice(0, eq)
  const inline = eq < 0 ? undefined : body.slice(eq + 1)
  if (table[key] && (tok.startsWith('--') || key.length > 1)) return {name: key, inline}
  if (!tok.startsWith('--') && key.length === 1 && byChar.has(key)) return {name: byChar.get(key)!, inline}
  return undefined
}

function refuseLoose(tok: string, hit: {name: string; inline?: string}, spec: FlagSpec, flags: FlagValues): void {
  if (!tok.startsWith('--') && tok.replace(/^-/, '').split('=')[0].length > 1) throw new UsageError(`flag ${tok}: long flags take two dashes`)
  if (spec.type === 'boolean' && hit.inline !== undefined) throw new UsageError(`flag --${hit.name} takes no value`)
  if (!spec.multiple && flags[hit.name] !== undefined) throw new UsageError(`flag --${hit.name} given more than once`)
}

function parseBool(name: string, v: string): boolean {
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  throw new UsageError(`invalid boolean value "${v}" for -${name}`)
}

function setFlag(flags: FlagValues, name: string, spec: FlagSpec, raw: string | boolean): void {
  let value: string | number | boolean = raw
  if (spec.type === 'integer') {
    if (!/^-?\d+$/.test(String(raw))) throw new UsageError(`invalid value "${raw}" for flag --${name}: not an integer`)
    value = Number(raw)
    if (spec.min !== undefined && value < spec.min) throw new UsageError(`invalid value "${raw}" for flag --${name}: expected at least ${spec.min}`)
  }
  if (spec.options && !spec.options.includes(String(value))) {
    throw new UsageError(`invalid value "${raw}" for flag --${name}: expected one of ${spec.options.join(', ')}`)
  }
  if (spec.multiple) {
    const prev = (flags[name] as string[] | undefined) ?? []
    flags[name] = [...prev, String(value)]
  } else {
    flags[name] = value
  }
}

/** A usage error naming the first required flag that `flags` lacks, if any. */
export function missingRequired(flags: FlagValues, table: Record<string, FlagSpec>): UsageError | undefined {
  const missing = Object.keys(table).find((name) => table[name].required && flags[name] === undefined)
  return missing ? new UsageError(`Required flag "${missing}" not set`) : undefined
}

/** Splits `ocirt [global flags] VERB [verb argv]`: global flags may only come before the verb. */
export function splitGlobal(argv: string[], globals: Record<string, FlagSpec>): {global: string[]; verb?: string; rest: string[]} {
  const global: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]
    if (!tok.startsWith('-') || tok === '-') return {global, verb: tok, rest: argv.slice(i + 1)}
    global.push(tok)
    const name = tok.replace(/^--?/, '').split('=')[0]
    if (globals[name] && globals[name].type !== 'boolean' && !tok.includes('=') && i + 1 < argv.length) global.push(argv[++i])
  }
  return {global, rest: []}
}

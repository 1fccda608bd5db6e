// Errors of the runtime library. Every error a user can see names the verb, the container id and the failing
// step: `<verb> <id>: <step>: <detail>[: <ERRNO>]`. A few sentinel texts match runc's, because engines parse them.

/** runc's sentinel texts that clients match on (containerd ignores a failed delete only on "does not exist"). */
export const SENTINEL = {
  notExist: 'container does not exist',
  exists: 'container with given ID already exists',
  notRunning: 'container not running',
  notPaused: 'container not paused',
  notCreated: 'cannot start a container that has stopped',
  paused: 'container paused',
} as const

export interface ErrorContext {
  verb?: string
  id?: string
  step?: string
  errno?: string
}

/** The base of every error ocirt raises on purpose; anything else is a bug and is reported as such. */
export class OcirtError extends Error {
  readonly verb?: string
  readonly id?: string
  readonly step?: string
  readonly errno?: string
  /** process exit status the CLI uses for this error (runc uses 1 almost everywhere) */
  exitCode = 1

  constructor(detail: string, ctx: ErrorContext = {}, options?: {cause?: unknown}) {
    super(formatMessage(detail, ctx), options)
    this.name = 'OcirtError'
    this.verb = ctx.verb
    this.id = ctx.id
    this.step = ctx.step
    this.errno = ctx.errno
  }
}

/** Bad input: the user's config, flags or id are wrong; nothing was changed. */
export class InvalidInput extends OcirtError {
  constructor(detail: string, ctx: ErrorContext = {}) {
    super(detail, ctx)
    this.name = 'InvalidInput'
  }
}

/** A system call or file operation failed at a named step. */
export class StepFailed extends OcirtError {
  constructor(detail: string, ctx: ErrorContext = {}, options?: {cause?: unknown}) {
    super(detail, ctx, options)
    this.name = 'StepFailed'
  }
}

export function formatMessage(detail: string, ctx: ErrorContext): string {
  const head = [ctx.verb, ctx.id].filter(Boolean).join(' ')
  const parts = [head, ctx.step, detail, ctx.errno].filter((p) => p !== undefined && p !== '')
  return parts.join(': ')
}

/** Wraps a Node fs/system error (with .code) as a StepFailed naming the step. */
export function wrapSysError(err: unknown, ctx: ErrorContext): OcirtError {
  if (err instanceof OcirtError) return err
  const e = err as NodeJS.ErrnoException
  const code = typeof e?.code === 'string' ? e.code : undefined
  const detail = e?.message ? stripNodeErrnoPrefix(e.message, code) : String(err)
  return new StepFailed(detail, {...ctx, errno: ctx.errno ?? code}, {cause: err})
}

// Node formats fs errors as "ENOENT: no such file or directory, open '/x'"; keep the readable part only,
// the errno name is appended by formatMessage.
function stripNodeErrnoPrefix(message: string, code?: string): string {
  if (code && message.startsWith(`${code}: `)) return message.slice(code.length + 2)
  return message
}

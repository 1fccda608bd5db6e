// Running an engine's CLI to its exit (output captured in unlinked files, not pipes: a container the engine
// starts may inherit them), and on a terminal of a given size through util-linux `script`.
import * as os from 'node:os'
import {runToExit} from '../ocirt'

export interface CmdResult {
  argv: string[]
  code: number
  stdout: string
  stderr: string
}

export interface CmdOptions {
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  input?: string
}

/** Run BIN ARGS to its exit, stdout and stderr captured; rejects on a timeout (the command is SIGKILLed). */
export async function runCmd(bin: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  const r = await runToExit(bin, args, {env: opts.env, input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000, label: bin})
  return {argv: [bin, ...args], code: r.code ?? 128 + (r.signal ? os.constants.signals[r.signal] : 0), stdout: r.stdout, stderr: r.stderr}
}

/** Throws, quoting the command and its output, unless it exited 0. Returns r. */
export function assertCmd(r: CmdResult, what: string): CmdResult {
  if (r.code !== 0) throw new Error(`${what}: \`${r.argv.join(' ')}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r
}

/** BIN ARGS as one shell command line (for `script -c`), each word quoted; ENV assignments first. */
export function shellLine(bin: string, args: string[], env: Record<string, string> = {}): string {
  const q = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`
  return [...Object.entries(env).map(([k, v]) => `${k}=${q(v)}`), q(bin), ...args.map(q)].join(' ')
}

/**
 * Run the shell command line CMD on a fresh pty of ROWS x COLS, as a user at a terminal would (util-linux
 * `script`); resolves with its exit status and what it wrote to the terminal (CR LF turned into LF).
 */
export async function onTerminal(cmd: string, rows = 31, cols = 101): Promise<CmdResult> {
  const r = await runCmd('script', ['-qec', `stty rows ${rows} cols ${cols}; ${cmd}`, '/dev/null'])
  return {...r, stdout: r.stdout.replace(/\r/g, '')}
}

/** The lines of a terminal transcript that a test looks for: `tty` and `stty size` output (script may echo ^@ first). */
export function terminalLines(out: string): string[] {
  return out.split('\n').map((l) => l.replace(/^\^@/, ''))
}

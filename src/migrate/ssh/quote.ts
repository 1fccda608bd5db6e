// argv → one command line for the remote user's POSIX shell (sshd runs `$SHELL -c LINE`). Every word that is
// not made only of characters no shell treats specially is put in single quotes, where nothing is special;
// a single quote inside becomes '\''. Reserved words and assignments are quoted too, so the first word is
// always run as a command.

const SAFE = /^[A-Za-z0-9_@+:,./-]+$/
const RESERVED = new Set([
  'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'case', 'esac', 'while', 'until', 'for', 'in',
  'function', 'select', 'time', 'coproc',
])

/** One word, quoted for a POSIX shell. Throws on a NUL byte, which no argv can carry. */
export function quoteWord(word: string): string {
  if (word.includes('\0')) throw new Error(`cannot pass a NUL byte in a command word: ${JSON.stringify(word)}`)
  if (SAFE.test(word) && !RESERVED.has(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** argv joined into one shell command line that the remote shell splits back into exactly argv. */
export function quoteArgv(argv: string[]): string {
  if (argv.length === 0) throw new Error('empty command')
  return argv.map(quoteWord).join(' ')
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** argv run with extra environment variables: `env 'K=V'... argv` (sshd drops env requests it was not told to accept). */
export function withEnv(argv: string[], env: Record<string, string> | undefined): string[] {
  const entries = Object.entries(env ?? {})
  if (entries.length === 0) return argv
  for (const [k] of entries) {
    if (!ENV_NAME.test(k)) throw new Error(`invalid environment variable name: ${JSON.stringify(k)}`)
  }
  return ['env', ...entries.map(([k, v]) => `${k}=${v}`), ...argv]
}

// Diagnostics of the runtime: warnings and debug lines go to stderr and to --log (text or runc's JSON lines).
// The CLI configures the sink once; library code only calls warn/debug.
import * as fs from 'node:fs'

export interface LogSink {
  file?: string
  format: 'text' | 'json'
  debug: boolean
}

let sink: LogSink = {format: 'text', debug: false}

export function configureLog(s: LogSink): void {
  sink = s
}

type Level = 'error' | 'warning' | 'debug' | 'info'

/** logrus's text line, as runc writes it (whole seconds). */
function textLine(level: Level, msg: string): string {
  return `time="${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}" level=${level} msg=${JSON.stringify(msg)}\n`
}

/** Writes to the --log file; returns false when there is none (the caller then reports on stderr). */
export function logLine(level: Level, msg: string): boolean {
  if (level === 'debug' && !sink.debug) return false
  if (sink.file) {
    const line = sink.format === 'json'
      ? JSON.stringify({level, msg, time: new Date().toISOString().replace(/\.\d+Z$/, 'Z')}) + '\n'
      : textLine(level, msg)
    try {
      fs.appendFileSync(sink.file, line)
    } catch {
      // a broken log file must not hide the message: stderr still gets it
    }
    return true
  }
  return false
}

/**
 * runc's error reporting: with --log, the formatted line goes to the log and the plain message to stderr
 * (conmon and containerd read the log); without --log, the logrus text line goes to stderr.
 */
export function reportError(msg: string): void {
  if (logLine('error', msg)) process.stderr.write(msg + '\n')
  else process.stderr.write(textLine('error', msg))
}

export function warn(msg: string): void {
  logLine('warning', msg)
  process.stderr.write(`ocirt: warning: ${msg}\n`)
}

const started = process.hrtime.bigint()

/** Debug lines carry the milliseconds since the process started, so --debug doubles as a step profiler. */
export function debug(msg: string): void {
  if (!sink.debug) return
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const line = `+${ms.toFixed(1)}ms ${msg}`
  logLine('debug', line)
  process.stderr.write(`ocirt: debug: ${line}\n`)
}

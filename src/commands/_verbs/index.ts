// The verbs the fast door serves, loaded lazily so a verb pays only for its own modules.
import type {VerbSpec} from './types'

/* eslint-disable @typescript-eslint/no-require-imports */
export const VERBS: Record<string, () => VerbSpec> = {
  create: () => require('./create').verb,
  start: () => require('./start').verb,
  run: () => require('./run').verb,
  exec: () => require('./exec').verb,
  state: () => require('./state').verb,
  list: () => require('./list').verb,
  kill: () => require('./kill').verb,
  delete: () => require('./delete').verb,
  pause: () => require('./pause').verb,
  resume: () => require('./resume').verb,
  ps: () => require('./ps').verb,
  spec: () => require('./spec').verb,
  features: () => require('./features').verb,
  checkpoint: () => require('./checkpoint').verb,
  restore: () => require('./restore').verb,
  update: () => require('./update').verb,
  events: () => require('./events').verb,
}

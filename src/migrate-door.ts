// dist/ocirt-migrate.js: both sides of a migration without oclif (~100 ms to load, ~250 ms per start in all), in a
// bundle of their own so that the main bundle stays as small as the engines' verbs need. `ocirt migrate` (the
// source's side, src/migrate/verb.ts) when no plugin is installed, and `ocirt migrate-agent`, which it starts on
// the target (the agent, one unpacker per tree). The loader (scripts/ocirt-loader.js) picks this bundle when argv
// names either; anything else (help, --version, another verb, migrate with plugins or an argv the fast parse
// refuses) goes to the full bundle.
import {enter, handToMainBundle} from './door'

enter(
  {
    migrate: () => require('./migrate/verb').verb,
    'migrate-agent': () => require('./migrate/agent/verb').verb,
  },
  handToMainBundle,
)

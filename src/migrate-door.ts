// dist/ocirt-migrate.js: `ocirt migrate-agent`, the target's side of a migration, in a bundle of its own so that
// each of its starts (the agent, one unpacker per tree) skips oclif (~100 ms to load, ~250 ms per start in all)
// and the main bundle stays as small as the engines' verbs need. The loader (scripts/ocirt-loader.js) picks it
// when argv names migrate-agent; anything else (help, --version, another verb) goes to the full bundle.
import {enter, handToMainBundle} from './door'

enter(
  {'migrate-agent': () => require('./migrate/agent/verb').verb},
  handToMainBundle,
)

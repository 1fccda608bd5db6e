// dist/ocirt-query.js: `state` and `list` alone, the read-only verbs engines call most often (every poll of a
// container's status), in a bundle of their own so that Node reads and deserializes a fraction of the code. The
// loader (scripts/ocirt-loader.js) picks it when argv names one of them; whatever this door does not serve after
// parsing argv properly (another verb, help, --version, a plugin's override) goes to the full bundle, which
// starts over from process.argv.
import {enter, handToMainBundle} from './door'

enter(
  {
    state: () => require('./commands/_verbs/state').verb,
    list: () => require('./commands/_verbs/list').verb,
  },
  handToMainBundle,
)

// The ocirt executable (dist/ocirt-main.js): every verb. The fast door and the oclif door are in door.ts;
// state and list are also served by the smaller dist/ocirt-query.js (src/query.ts).
import {enter} from './door'
import {VERBS} from './commands/_verbs'

enter(VERBS)

// `ocirt state`: the flags, arguments and behaviour live in ./_verbs/state.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/state'

export default class State extends verbCommand(verb) {}

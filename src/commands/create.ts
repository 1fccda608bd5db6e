// `ocirt create`: the flags, arguments and behaviour live in ./_verbs/create.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/create'

export default class Create extends verbCommand(verb) {}

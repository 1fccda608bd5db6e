// `ocirt checkpoint`: the flags, arguments and behaviour live in ./_verbs/checkpoint.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/checkpoint'

export default class Checkpoint extends verbCommand(verb) {}

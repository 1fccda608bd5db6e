// `ocirt spec`: the flags, arguments and behaviour live in ./_verbs/spec.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/spec'

export default class Spec extends verbCommand(verb) {}

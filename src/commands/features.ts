// `ocirt features`: the flags, arguments and behaviour live in ./_verbs/features.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/features'

export default class Features extends verbCommand(verb) {}

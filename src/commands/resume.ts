// `ocirt resume`: the flags, arguments and behaviour live in ./_verbs/resume.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/resume'

export default class Resume extends verbCommand(verb) {}

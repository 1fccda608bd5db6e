// The credentials we offer, in OpenSSH's order: the agent's keys first, then the identity files (the -i files,
// or the default ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist). A -i file that cannot be read is an error at
// once. Keys with a passphrase cannot be used (we never prompt): they are skipped with a reason that the
// failure message repeats, and when nothing is left to offer we fail before connecting.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {utils} from 'ssh2'
import type {AuthenticationType} from 'ssh2'
import {SshAuthFailed} from './errors'
import type {SshAuthOptions, SshTarget} from './types'

export interface AuthMethod {
  /** how the failure message names it */
  label: string
  config: {type: 'agent'; username: string; agent: string} | {type: 'publickey'; username: string; key: Buffer}
}

export interface AuthPlan {
  methods: AuthMethod[]
  /** keys that could not be offered, with the reason */
  skipped: string[]
}

export const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa']

export function planAuth(target: SshTarget, auth: SshAuthOptions): AuthPlan {
  const methods: AuthMethod[] = []
  const skipped: string[] = []
  const agent = auth.agent === false ? undefined : (auth.agent ?? process.env.SSH_AUTH_SOCK)
  if (agent) {
    if (isSocket(agent)) methods.push({label: `ssh-agent (${agent})`, config: {type: 'agent', username: target.user, agent}})
    else skipped.push(`ssh-agent ${agent}: not a socket`)
  }
  const explicit = (auth.identityFiles ?? []).length > 0
  const files = explicit ? auth.identityFiles! : DEFAULT_IDENTITIES.map((n) => path.join(os.homedir(), '.ssh', n)).filter((f) => fs.existsSync(f))
  for (const file of files) {
    let data: Buffer
    try {
      data = fs.readFileSync(file)
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      throw new SshAuthFailed(target, [], `cannot read identity file ${file}: ${err.code ?? err.message}`)
    }
    const parsed = utils.parseKey(data)
    if (parsed instanceof Error) {
      const encrypted = /encrypted|passphrase/i.test(parsed.message)
      const why = encrypted
        ? `identity file ${file} is protected by a passphrase, which ocirt cannot ask for: load it into ssh-agent (ssh-add ${file}) or use a key without a passphrase`
        : `identity file ${file} is not a private key ssh2 can read (${parsed.message})`
      skipped.push(why)
      continue
    }
    const key = Array.isArray(parsed) ? parsed[0] : parsed
    if (!key.isPrivateKey()) {
      const why = `identity file ${file} holds a public key, not a private key`
      skipped.push(why)
      continue
    }
    methods.push({label: `${file} (${key.type})`, config: {type: 'publickey', username: target.user, key: data}})
  }
  if (methods.length === 0) {
    const tail = skipped.length ? `: ${skipped.join('; ')}` : ''
    throw new SshAuthFailed(target, [],
      `no credentials to offer: no ssh-agent (SSH_AUTH_SOCK) and no identity file (-i FILE, or ~/.ssh/${DEFAULT_IDENTITIES.join(', ~/.ssh/')})${tail}`)
  }
  return {methods, skipped}
}

/** An ssh2 authHandler walking the plan, remembering what it offered and what the server said it accepts. */
export function authWalker(plan: AuthPlan) {
  const tried: string[] = []
  let serverMethods: string[] | undefined
  let i = 0
  const handler = (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, _cb: unknown) => {
    if (methodsLeft) serverMethods = methodsLeft
    while (i < plan.methods.length) {
      const m = plan.methods[i++]
      if (serverMethods && !serverMethods.includes('publickey')) continue
      tried.push(m.label)
      return m.config
    }
    return false
  }
  return {
    handler,
    failure(target: SshTarget): SshAuthFailed {
      const offered = tried.length ? `tried publickey with ${tried.join(', ')}` : 'offered nothing the server accepts'
      const server = serverMethods ? `; the server accepts: ${serverMethods.join(', ') || 'nothing'}` : ''
      const skip = plan.skipped.length ? `; skipped: ${plan.skipped.join('; ')}` : ''
      return new SshAuthFailed(target, [...tried], `permission denied: ${offered}${server}${skip}`)
    },
  }
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket()
  } catch {
    return false
  }
}

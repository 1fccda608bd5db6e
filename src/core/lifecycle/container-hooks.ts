// createContainer hooks: run inside the container's namespaces (before pivot_root, so the hook's path is
// resolved in the container's mount namespace while it still sees the host's tree) by an exec-mode helper.
import type {Hook} from '../spec/types'
import type {ContainerFacts} from '../state/facts'
import {OcirtError} from '../errors'
import {buildExecPlan} from '../init/build-exec-plan'
import {encodePlan} from '../init/codec'
import {FRAME} from '../init/protocol'
import {InitSession} from '../init/session'

export async function runContainerHooks(hooks: Hook[] | undefined, facts: ContainerFacts, stateJson: string, ctx: {verb: string; id: string}): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    const step = `createContainer hook #${i} (${hook.path})`
    const plan = buildExecPlan({
      id: facts.id, verb: ctx.verb, namespaces: facts.namespaces, cgroupPaths: facts.cgroup.paths,
      process: {args: hook.args?.length ? hook.args : [hook.path], env: hook.env ?? [], cwd: '/', user: {uid: 0, gid: 0}},
      detach: false, preserveFds: 0, rootless: facts.rootless, keepIdentity: true,
    })
    // the helper execs argv[0] after a PATH lookup; hooks name their binary by path and argv[0] separately
    plan.args = [hook.path, ...plan.args.slice(1)]
    const session = InitSession.start({verb: ctx.verb, id: ctx.id, stdio: ['pipe', 'ignore', 'pipe'], preserveFds: 0})
    let stderr = ''
    session.child!.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)))
    session.child!.stdin!.on('error', () => undefined)
    session.child!.stdin!.end(stateJson)
    let timer: NodeJS.Timeout | undefined
    try {
      session.send(FRAME.PLAN, encodePlan(plan))
      const pid = (await session.expect(FRAME.PID, step)).readUInt32LE(0)
      session.send(FRAME.GO)
      await session.expect(FRAME.READY, step)
      const exit = await new Promise<{code: number | null; signal: string | null}>((resolve, reject) => {
        if (hook.timeout && hook.timeout > 0) {
          timer = setTimeout(() => {
            try {
              process.kill(pid, 'SIGKILL')
            } catch {
              // gone
            }
            reject(new OcirtError(`timed out after ${hook.timeout}s`, {...ctx, step}))
          }, hook.timeout * 1000)
        }
        session.exited.then(resolve)
      })
      if (exit.code !== 0) {
        const how = exit.signal ? `killed by ${exit.signal}` : `exit status ${exit.code}`
        throw new OcirtError(`${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}`, {...ctx, step})
      }
    } finally {
      clearTimeout(timer)
    }
  }
}

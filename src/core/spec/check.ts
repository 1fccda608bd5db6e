// Small shape checks shared by validate.ts and validate-linux.ts; each reports by config path.

/** Collects one problem: the path in config.json ("linux.namespaces[2].type") and what is wrong. */
export type Report = (path: string, message: string) => void

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** True when `v` is absent or an array of strings; reports otherwise. */
export function stringArray(v: unknown, where: string, report: Report): boolean {
  if (v === undefined) return true
  if (!Array.isArray(v)) {
    report(where, 'must be an array of strings')
    return false
  }
  const bad = v.findIndex((s) => typeof s !== 'string')
  if (bad >= 0) report(`${where}[${bad}]`, 'must be a string')
  return bad < 0
}

export function uint(v: unknown, where: string, report: Report): boolean {
  const ok = Number.isInteger(v) && (v as number) >= 0
  if (!ok) report(where, 'must be a non-negative integer')
  return ok
}

/** A security module field is an error when the host lacks the module, or ocirt cannot apply it yet. */
export function lsm(where: string, name: string, onHost: boolean, probe: string, supported: boolean, report: Report): void {
  if (!onHost) report(where, `${name} is not enabled on this host (${probe} is absent)`)
  else if (!supported) report(where, `ocirt cannot apply ${name} settings yet; refusing to run the container unconfined`)
}

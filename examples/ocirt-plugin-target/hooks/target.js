// The migrate:target hook of the example plugin: `ocirt migrate ID --to pool:NAME` goes to a host of pool NAME
// in the JSON file named by $OCIRT_TARGET_POOL (see pools.example.json and README.md). Plain CommonJS with no
// dependencies, so `ocirt plugins link` has nothing to install.
//
// The rule: hosts marked "drain" and hosts with less free memory than the pool's minFreeMemoryMiB are skipped;
// of the rest, the highest weight x freeMemoryMiB wins (weight defaults to 1); a tie goes to the host name
// that sorts first.
'use strict'
const fs = require('node:fs')

const SCHEME = 'pool'

/**
 * @param {{id: string, to: string, spec: {kind: string, scheme?: string, rest?: string}}} opts  as ocirt passes it
 * @returns {Promise<object|undefined>} a ResolvedTarget, or undefined: not ours, let another plugin answer
 */
module.exports = async function poolTarget(opts) {
  const {spec} = opts
  if (spec.kind !== 'plugin' || spec.scheme !== SCHEME) return undefined

  const file = process.env.OCIRT_TARGET_POOL
  if (!file) throw new Error('OCIRT_TARGET_POOL is not set: it names the JSON file that describes the pools')
  const pools = readPools(file)
  const name = spec.rest
  const pool = pools[name]
  if (!pool) throw new Error(`${file}: no pool "${name}" (pools: ${Object.keys(pools).join(', ') || 'none'})`)

  const min = pool.minFreeMemoryMiB ?? 0
  const candidates = pool.hosts.filter((h) => !h.drain && h.freeMemoryMiB >= min)
  if (candidates.length === 0) {
    throw new Error(`${file}: pool "${name}" has no host to take ${opts.id}: ${pool.hosts.map((h) => `${h.host} (${h.drain ? 'draining' : `${h.freeMemoryMiB} MiB free < ${min}`})`).join(', ')}`)
  }
  const score = (h) => (h.weight ?? 1) * h.freeMemoryMiB
  candidates.sort((a, b) => score(b) - score(a) || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
  const h = candidates[0]
  if (this && typeof this.debug === 'function') this.debug(`pool ${name}: ${h.host} (score ${score(h)})`)

  const target = {
    host: h.host,
    port: h.port ?? pool.port ?? 22,
    user: h.user ?? pool.user ?? 'root',
    label: `pool ${name}: ${h.host} (weight ${h.weight ?? 1}, ${h.freeMemoryMiB} MiB free)`,
  }
  for (const key of ['remoteOcirt', 'remoteRoot', 'remoteBundleDir']) {
    const value = h[key] ?? pool[key]
    if (value !== undefined) target[key] = value
  }
  return target
}

/** The file's pools, checked enough that a mistake in it is reported as one clear line. */
function readPools(file) {
  let doc
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`${file}: ${err.code === 'ENOENT' ? 'does not exist' : err.message}`)
  }
  if (!doc || typeof doc.pools !== 'object' || doc.pools === null) throw new Error(`${file}: expected {"pools": {NAME: {"hosts": [...]}}}`)
  for (const [name, pool] of Object.entries(doc.pools)) {
    if (!pool || !Array.isArray(pool.hosts)) throw new Error(`${file}: pool "${name}" has no "hosts" list`)
    pool.hosts.forEach((h, i) => {
      if (!h || typeof h.host !== 'string' || h.host === '') throw new Error(`${file}: pool "${name}" host #${i + 1} has no "host"`)
      if (typeof h.freeMemoryMiB !== 'number' || h.freeMemoryMiB < 0) throw new Error(`${file}: pool "${name}" host ${h.host}: "freeMemoryMiB" must be a number >= 0`)
      if (h.weight !== undefined && (typeof h.weight !== 'number' || h.weight < 0)) throw new Error(`${file}: pool "${name}" host ${h.host}: "weight" must be a number >= 0`)
    })
  }
  return doc.pools
}

// Writes the uid/gid maps of a new user namespace from outside it, between the helper's PID and GO frames.
// As root the maps are written directly; rootless, a single mapping of our own ids can be written directly
// (after denying setgroups), anything wider needs the setuid newuidmap/newgidmap from the uidmap package.
import * as fs from 'node:fs'
import type {IdMapping} from './spec/types'
import {OcirtError} from './errors'

export function writeIdMaps(pid: number, uidMappings: IdMapping[], gidMappings: IdMapping[], opts: {rootless: boolean; ctx: {verb: string; id: string}}): void {
  const {ctx} = opts
  if (!opts.rootless) {
    writeMap(pid, 'uid_map', uidMappings, ctx)
    writeMap(pid, 'gid_map', gidMappings, ctx)
    return
  }
  const uid = process.geteuid!()
  const gid = process.getegid!()
  if (isOwnIdOnly(uidMappings, uid) && isOwnIdOnly(gidMappings, gid)) {
    try {
      fs.writeFileSync(`/proc/${pid}/setgroups`, 'deny')
    } catch (err) {
      throw new OcirtError(`cannot deny setgroups: ${(err as Error).message}`, {...ctx, step: 'write id maps'})
    }
    writeMap(pid, 'uid_map', uidMappings, ctx)
    writeMap(pid, 'gid_map', gidMappings, ctx)
    return
  }
  runIdMapTool('newuidmap', pid, uidMappings, ctx)
  runIdMapTool('newgidmap', pid, gidMappings, ctx)
}

function isOwnIdOnly(maps: IdMapping[], id: number): boolean {
  return maps.length === 1 && maps[0].size === 1 && maps[0].hostID === id
}

function mapText(maps: IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('')
}

function writeMap(pid: number, file: 'uid_map' | 'gid_map', maps: IdMapping[], ctx: {verb: string; id: string}): void {
  if (maps.length === 0) return
  try {
    fs.writeFileSync(`/proc/${pid}/${file}`, mapText(maps))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new OcirtError(`cannot write ${file} (${mapText(maps).trim().replace(/\n/g, '; ')})`, {...ctx, step: 'write id maps', errno: code})
  }
}

function runIdMapTool(tool: string, pid: number, maps: IdMapping[], ctx: {verb: string; id: string}): void {
  const args = [String(pid), ...maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])]
  const {spawnSync} = require('node:child_process') as typeof import('node:child_process') // rootless maps only
  const r = spawnSync(tool, args, {encoding: 'utf8'})
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || `exit status ${r.status}`).trim()
    throw new OcirtError(`${tool} failed: ${why} (is the uidmap package installed and /etc/sub${tool === 'newuidmap' ? 'uid' : 'gid'} set up?)`, {...ctx, step: 'write id maps'})
  }
}

// listTree: every path under a directory, relative and sorted, symlinks listed but never followed; the
// difference between two listings is what an incremental sync must delete on the other side.
import * as fs from 'node:fs'
import * as path from 'node:path'

export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.promises.readdir(path.join(dir, rel), {withFileTypes: true})
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name
      out.push(child)
      if (e.isDirectory()) await walk(child)
    }
  }
  await walk('')
  return out.sort()
}

// A full garbage collection on demand, for the moment before a stretch whose latency counts (a migration's
// freeze): on VMs whose balloon hands freed memory back to the host, V8's collections of even a 10 MB heap take
// 3-12 ms each (fresh pages fault), and the freeze's allocations reliably triggered one scavenge and one
// mark-compact inside it. Collecting just before leaves the young generation empty and the old one compacted.
import * as v8 from 'node:v8'
import * as vm from 'node:vm'

let gc: (() => void) | undefined

export function collectGarbage(): void {
  if (!gc) {
    // the documented way to reach gc() without starting node with --expose-gc
    v8.setFlagsFromString('--expose-gc')
    gc = vm.runInNewContext('gc') as () => void
  }
  gc()
}

// What the engine benchmarks share: timing a case, driving a StreamTask directly with a no-op collector
// (the engine's own per-record cost), running the cases with a warm-up and best of two, and printing
// them with the machine, its load and each case's ratio to its group's hand-written loop.
// `--records N` sets the workload size, `--only <text>` runs the cases whose name contains the text
// (for profiling one path), `--json` prints the rows as JSON.
import { cpus, loadavg, totalmem } from 'node:os'
import type { Topology } from '../topology/index.js'
import type { InputRecord } from '../topology/internals/runtime/input-record.js'
import { NO_OP_COLLECTOR } from '../topology/internals/runtime/record-collector.js'
import { StreamTask } from '../topology/internals/runtime/stream-task.js'

const argv = process.argv
export const RECORDS = Number(argv[argv.indexOf('--records') + 1]) || 1_000_000
export const KEYS = 10_000
export const COMMIT_EVERY = 10_000
const BATCH = 5_000

/** Records per second of `work`, which processes RECORDS records. */
export function rate(work: () => void): number {
  const start = performance.now()
  work()
  return RECORDS / ((performance.now() - start) / 1000)
}

/** The task of sub-topology 0, partition 0, its stores ready, writing to a no-op collector. */
export function standaloneTask(topology: Topology, applicationId: string): StreamTask {
  const task = new StreamTask({
    graph: topology.graph,
    subtopology: 0,
    partition: 0,
    applicationId,
    collector: NO_OP_COLLECTOR,
  })
  task.initializeStores()
  task.completeRestoration()
  return task
}

/** Memory after full GCs (MiB), for the benchmarks run with `node --expose-gc`. */
export interface SettledMemory {
  readonly rss: number
  readonly heap: number
  readonly arrayBuffers: number
  /** RSS after a last-resort GC, what V8 runs under memory pressure: it also gives back free pages. */
  readonly rssReleased: number
}

type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'regular' | 'last-resort' }) => void

/** Three full GCs, the memory, then a last-resort GC and the RSS. `--verbose` prints more of V8's figures. */
export function settleMemory(): SettledMemory {
  const gc = (globalThis as { gc?: Gc }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  for (let i = 0; i < 3; i++) gc()
  const usage = process.memoryUsage()
  const MiB = 2 ** 20
  if (argv.includes('--verbose'))
    console.log(
      `heapTotal ${(usage.heapTotal / MiB).toFixed(0)} MiB, external ${(usage.external / MiB).toFixed(0)} MiB, arrayBuffers ${(usage.arrayBuffers / MiB).toFixed(0)} MiB`,
    )
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })
  return {
    rss: usage.rss / MiB,
    heap: usage.heapUsed / MiB,
    arrayBuffers: usage.arrayBuffers / MiB,
    rssReleased: process.memoryUsage().rss / MiB,
  }
}

/** Through one StreamTask of sub-topology 0, fed in batches, committing every COMMIT_EVERY records. */
export function viaTask(topology: Topology, records: InputRecord[]): number {
  const task = standaloneTask(topology, 'bench')
  return rate(() => {
    let sinceCommit = 0
    for (let i = 0; i < records.length; i += BATCH) {
      task.addRecords('in', 0, records.slice(i, i + BATCH))
      sinceCommit += task.process()
      if (sinceCommit >= COMMIT_EVERY) {
        task.prepareCommit()
        task.postCommit()
        sinceCommit = 0
      }
    }
    task.prepareCommit()
  })
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

/** Runs cases (a warm-up round, then the best of two) and prints them against their hand loop. */
export function benchmark(workload: string) {
  const header = `node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, load ${load()}, ${workload}`
  const rows: { case: string; recordsPerSecond: number }[] = []
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined
  return {
    run(name: string, work: () => number): void {
      if (only !== undefined && !name.includes(only)) return
      work() // warm-up round, discarded
      rows.push({ case: name, recordsPerSecond: Math.max(work(), work()) })
    },
    /** `checksum` keeps the hand loops' results alive, so the JIT cannot drop their work. */
    print(checksum: number): void {
      if (argv.includes('--json')) {
        console.log(JSON.stringify({ header, rows }, null, 2))
        return
      }
      console.log(header)
      for (const row of rows) {
        // Cases of one group share their first 4 characters, e.g. "(a) ".
        const base = rows.find((r) => r.case.startsWith(row.case.slice(0, 4)) && r.case.includes('hand loop'))
        const ratio = base ? (row.recordsPerSecond / base.recordsPerSecond).toFixed(2) : '-'
        console.log(
          `  ${row.case.padEnd(50)} ${Math.round(row.recordsPerSecond).toLocaleString('en').padStart(12)} rec/s  x${ratio}`,
        )
      }
      console.log(`load at end ${load()} (checksum ${checksum})`)
    },
  }
}

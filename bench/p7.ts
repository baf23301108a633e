// P7: memory of window state. 1M distinct keys, one open window each, through the P2 topology's task
// (record cache, changelog logging to a no-op collector, in-memory window store), then a full GC; the
// process RSS and heap against a plain Map of 1M keys to two numbers measured the same way in a
// separate process (the runtime issue's goal: at most 300 MB for the store's process).
//
//   npx node --expose-gc --import tsx bench/p7.ts            the engine's window store
//   npx node --expose-gc --import tsx bench/p7.ts --map      the plain Map, for scale
//   ... --keys 100000 --snapshot /tmp/p7.heapsnapshot   what each key costs, in a heap snapshot
//   npm run bench:p7                                         both, each in its own process
import { spawnSync } from 'node:child_process'
import { writeHeapSnapshot } from 'node:v8'
import { type CountSum, countSumSerde } from '../test/support/count-sum.js'
import { Materialized, Serdes, StreamsBuilder, TimeWindows, WindowedSerdes } from '../topology/index.js'
import type { InputRecord } from '../topology/internals/runtime/input-record.js'
import { NO_HEADERS } from '../topology/stream-record.js'
import { type SettledMemory, settleMemory, standaloneTask } from './harness.js'
import { machineLoad } from './machine.js'

const KEYS = Number(process.argv[process.argv.indexOf('--keys') + 1]) || 1_000_000

function engine(): SettledMemory {
  const str = Serdes.String()
  const builder = new StreamsBuilder()
  builder
    .stream<string, number>('in', { keySerde: str, valueSerde: Serdes.Long() })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 30_000))
    .aggregate<CountSum>(
      () => ({ count: 0, sum: 0 }),
      (_key, tokens, agg) => ({ count: agg.count + 1, sum: agg.sum + tokens }),
      Materialized.as<string, CountSum>('p7-windows').withValueSerde(countSumSerde),
    )
    .toStream()
    .to('out', { keySerde: WindowedSerdes.timeWindowed(str, 60_000), valueSerde: countSumSerde })
  const task = standaloneTask(builder.build(), 'p7')
  const value = Buffer.alloc(8)
  value.writeBigInt64BE(7n)
  const batch = 10_000
  for (let i = 0; i < KEYS; i += batch) {
    const records: InputRecord[] = []
    for (let j = i; j < Math.min(KEYS, i + batch); j++) {
      records.push({
        topic: 'in',
        partition: 0,
        offset: j,
        timestamp: Date.UTC(2026, 0, 1) + (j % 50_000),
        key: Buffer.from(`agent-${j}`),
        value,
        headers: NO_HEADERS, // as the runtime hands records without headers
      })
    }
    task.addRecords('in', 0, records)
    task.process()
    task.prepareCommit()
    task.postCommit()
  }
  const after = settleMemory()
  // `--snapshot <file>`: a heap snapshot with the store alive, to see what each key costs.
  const snapshot = process.argv.indexOf('--snapshot')
  if (snapshot >= 0) writeHeapSnapshot(process.argv[snapshot + 1])
  // Keep the task reachable until measured.
  if (task.getStore('p7-windows') === undefined) throw new Error('no store')
  return after
}

function plainMap(): SettledMemory {
  const map = new Map<string, { count: number; sum: number }>()
  for (let j = 0; j < KEYS; j++) map.set(`agent-${j}`, { count: 1, sum: 7 })
  const after = settleMemory()
  if (map.size !== KEYS) throw new Error('lost keys')
  return after
}

function line(what: string, m: SettledMemory, base: SettledMemory): string {
  const mib = (v: number, b: number) => `${v.toFixed(0).padStart(5)} MiB (+${(v - b).toFixed(0)})`
  return `${what.padEnd(34)} rss ${mib(m.rss, base.rss)}, after a last-resort GC ${mib(m.rssReleased, base.rssReleased)}, heap used ${mib(m.heap, base.heap)}`
}

if (process.argv.includes('--both')) {
  console.log(`${machineLoad()}, ${KEYS.toLocaleString('en')} distinct keys`)
  for (const mode of ['--map', '--engine']) {
    const run = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'bench/p7.ts', mode, '--keys', String(KEYS)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    process.stdout.write(run.stdout)
  }
} else {
  const base = settleMemory()
  const mode = process.argv.includes('--map')
    ? 'plain Map (key -> {count, sum})'
    : 'engine window store (P2 topology)'
  const measured = process.argv.includes('--map') ? plainMap() : engine()
  console.log(line(mode, measured, base))
}

// Records per second through the topology engine on one core: (a) a stateless chain (filter ->
// mapValues -> map -> to) and (b) a count per key over 10k keys, 1M records each, measured through the
// test driver (serdes, routing, a commit per record or per 10k) and directly through a StreamTask with a
// no-op collector, beside a hand-written loop doing the same work (the ceiling) and the same chain
// written as RxJS operators in pipe(), and with 1% of records that fail to deserialize (dead-lettered).
// All in one run so that ratios hold on a loaded machine.
// Run: `npx tsx bench/engine.ts [--records 1000000] [--only <case text>] [--json]`.
import { filter, map } from 'rxjs'
import { NO_HEADERS, Serdes, StreamsBuilder, type Topology, TopologyTestDriver } from '../topology/index.js'
import type { InputRecord } from '../topology/internals/runtime/input-record.js'
import { benchmark, COMMIT_EVERY, KEYS, RECORDS, rate, viaTask } from './harness.js'

const str = Serdes.String()
const num = Serdes.Number()
const keys = Array.from({ length: KEYS }, (_, i) => `agent-${i}`)
const keyBytes = keys.map((k) => str.serialize('in', k) as Buffer)
const valueBytes = Array.from({ length: 1000 }, (_, i) => num.serialize('in', i) as Buffer)

function inputs(): InputRecord[] {
  const out: InputRecord[] = new Array(RECORDS)
  for (let i = 0; i < RECORDS; i++) {
    out[i] = {
      topic: 'in',
      partition: 0,
      offset: i,
      timestamp: 1_700_000_000_000 + i,
      key: keyBytes[(i * 7919) % KEYS] as Buffer,
      value: valueBytes[i % 1000] as Buffer,
      headers: NO_HEADERS,
    }
  }
  return out
}

// The same records with every 100th value cut to 3 bytes: it fails to deserialize and goes to the
// dead-letter output (the default handler), so the case prices the bad-record path.
function withBadRecords(records: InputRecord[]): InputRecord[] {
  const bad = Buffer.from('bad')
  return records.map((r, i) => (i % 100 === 99 ? { ...r, value: bad } : r))
}

function statelessTopology(): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .filter((_k, v) => v % 10 !== 0)
    .mapValues((v) => v * 2)
    .map((k, v) => [k, v + 1] as const)
    .to('out', { keySerde: str, valueSerde: num })
  return b.build()
}

function pipeTopology(): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .pipe(
      filter((r) => r.value % 10 !== 0),
      map((r) => r.withValue(r.value * 2)),
      map((r) => r.withValue(r.value + 1)),
    )
    .to('out', { keySerde: str, valueSerde: num })
  return b.build()
}

function countTopology(): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .groupByKey()
    .count()
    .toStream()
    .to('out', { keySerde: str, valueSerde: Serdes.Long() })
  return b.build()
}

function viaDriver(topology: Topology, autoCommit: boolean): number {
  const driver = new TopologyTestDriver(topology, { autoCommit })
  const input = driver.createInputTopic('in', str, num)
  const output = driver.createOutputTopic('out', str, num)
  return rate(() => {
    for (let i = 0; i < RECORDS; i++) {
      input.pipeInput(keys[(i * 7919) % KEYS] as string, i % 1000, 1_700_000_000_000 + i)
      if (!autoCommit && i % COMMIT_EVERY === COMMIT_EVERY - 1) driver.commit()
      if (i % 100_000 === 0) output.readRecordsToList()
    }
    driver.commit()
  })
}

// The ceiling: the same work as a plain loop over the same bytes, no engine.
// Results are summed into `sink` so that the JIT cannot drop the work.
let sink = 0

function handStateless(records: InputRecord[]): number {
  return rate(() => {
    for (const r of records) {
      const k = str.deserialize('in', r.key as Buffer)
      const v = num.deserialize('in', r.value as Buffer)
      if (v % 10 === 0) continue
      const out = v * 2 + 1
      if (str.serialize('out', k) !== null && num.serialize('out', out) !== null) sink++
    }
  })
}

function handCount(records: InputRecord[]): number {
  const counts = new Map<string, number>()
  const dirty = new Set<string>()
  const long = Serdes.Long()
  return rate(() => {
    let n = 0
    for (const r of records) {
      const k = str.deserialize('in', r.key as Buffer)
      num.deserialize('in', r.value as Buffer)
      counts.set(k, (counts.get(k) ?? 0) + 1)
      dirty.add(k)
      if (++n % COMMIT_EVERY === 0) {
        for (const d of dirty) {
          sink +=
            (str.serialize('c', d)?.length ?? 0) + (long.serialize('c', counts.get(d) as number)?.length ?? 0)
        }
        dirty.clear()
      }
    }
  })
}

const records = inputs()
const bench = benchmark(`${RECORDS.toLocaleString('en')} records, ${KEYS.toLocaleString('en')} keys`)
const run = bench.run

run('(a) stateless: hand loop (ceiling)', () => handStateless(records))
run('(a) stateless: StreamTask, no-op collector', () => viaTask(statelessTopology(), records))
run('(a) stateless: same chain as RxJS pipe()', () => viaTask(pipeTopology(), records))
const badRecords = withBadRecords(records)
run('(a) stateless: StreamTask, 1% bad -> dead letter', () => viaTask(statelessTopology(), badRecords))
run('(a) stateless: test driver, commit per 10k', () => viaDriver(statelessTopology(), false))
run('(a) stateless: test driver, commit per record', () => viaDriver(statelessTopology(), true))
run('(b) count/key: hand loop (ceiling)', () => handCount(records))
run('(b) count/key: StreamTask, no-op collector', () => viaTask(countTopology(), records))
run('(b) count/key: test driver, commit per 10k', () => viaDriver(countTopology(), false))
run('(b) count/key: test driver, commit per record', () => viaDriver(countTopology(), true))

bench.print(sink)

// Records per second through windowed counts on one core: (h) a hopping-window count (5 min windows
// advancing by 1 min, 30 s grace) and (s) a session-window count (5 min gap, 30 s grace), 10k keys, 1M
// records spread over 6 hours of event time (~22 ms apart) with up to 2 s of disorder. Each is measured
// through the test driver (autoCommit off, a commit every 10k records) and directly through a StreamTask
// with a no-op collector, beside a hand-written loop doing the same counting in Maps (the ceiling), all
// in one run so that ratios hold on a loaded machine.
// Run: `npx tsx bench/windows.ts [--records 1000000] [--only <case text>] [--json]`.
import {
  NO_HEADERS,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
  type Topology,
  TopologyTestDriver,
  WindowedSerdes,
} from '../topology/index.js'
import type { InputRecord } from '../topology/internals/runtime/input-record.js'
import { benchmark, COMMIT_EVERY, KEYS, RECORDS, rate, viaTask } from './harness.js'

const MINUTE = 60_000
const SPAN_MS = 6 * 60 * MINUTE
const DISORDER_MS = 2_000
const GRACE_MS = 30_000
const SIZE_MS = 5 * MINUTE
const ADVANCE_MS = MINUTE
const GAP_MS = 5 * MINUTE
const EPOCH = Date.UTC(2026, 10, 27)

const str = Serdes.String()
const num = Serdes.Number()
const long = Serdes.Long()
const keys = Array.from({ length: KEYS }, (_, i) => `agent-${i}`)
const keyBytes = keys.map((k) => str.serialize('in', k) as Buffer)
const valueBytes = Array.from({ length: 1000 }, (_, i) => num.serialize('in', i) as Buffer)

// Deterministic (seeded) so that every case and every run sees the same records.
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const random = lcg(42)
const timestamps = Array.from(
  { length: RECORDS },
  (_, i) =>
    EPOCH + Math.floor((i * SPAN_MS) / RECORDS) + Math.floor(random() * DISORDER_MS) - DISORDER_MS / 2,
)
const keyOf = (i: number) => (i * 7919) % KEYS

function inputs(): InputRecord[] {
  const out: InputRecord[] = new Array(RECORDS)
  for (let i = 0; i < RECORDS; i++) {
    out[i] = {
      topic: 'in',
      partition: 0,
      offset: i,
      timestamp: timestamps[i] as number,
      key: keyBytes[keyOf(i)] as Buffer,
      value: valueBytes[i % 1000] as Buffer,
      headers: NO_HEADERS,
    }
  }
  return out
}

function hoppingTopology(): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(SIZE_MS, GRACE_MS).advanceBy(ADVANCE_MS))
    .count()
    .toStream()
    .to('out', { keySerde: WindowedSerdes.timeWindowed(str, SIZE_MS), valueSerde: long })
  return b.build()
}

function sessionTopology(): Topology {
  const b = new StreamsBuilder()
  b.stream<string, number>('in', { keySerde: str, valueSerde: num })
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(GAP_MS, GRACE_MS))
    .count()
    .toStream()
    .to('out', { keySerde: WindowedSerdes.sessionWindowed(str), valueSerde: long })
  return b.build()
}

function viaDriver(topology: Topology): number {
  const driver = new TopologyTestDriver(topology, { autoCommit: false })
  const input = driver.createInputTopic('in', str, num)
  const output = driver.createOutputTopic('out', Serdes.Buffer(), Serdes.Buffer())
  const changelog = driver.createOutputTopic(
    'test-app-KSTREAM-AGGREGATE-STATE-STORE-0000000001-changelog',
    Serdes.Buffer(),
    Serdes.Buffer(),
  )
  return rate(() => {
    for (let i = 0; i < RECORDS; i++) {
      input.pipeInput(keys[keyOf(i)] as string, i % 1000, timestamps[i] as number)
      if (i % COMMIT_EVERY === COMMIT_EVERY - 1) {
        driver.commit()
        // The driver keeps what it produced; drain it as a consumer would.
        if (i % 100_000 === 100_000 - 1) {
          output.readRecordsToList()
          changelog.readRecordsToList()
        }
      }
    }
    driver.commit()
  })
}

// The ceilings: the same counting as plain loops over the same bytes, with what changed since the last
// commit encoded once per commit (as the engine's cache flush does) and closed windows dropped.
let sink = 0

function handHopping(records: InputRecord[]): number {
  return rate(() => {
    const byStart = new Map<number, Map<string, number>>()
    const dirty = new Map<string, number>() // "start key" -> count, per commit
    let streamTime = Number.NEGATIVE_INFINITY
    let n = 0
    for (const r of records) {
      const k = str.deserialize('in', r.key as Buffer)
      num.deserialize('in', r.value as Buffer)
      const t = r.timestamp
      if (t > streamTime) streamTime = t
      const first = Math.floor(Math.max(0, t - SIZE_MS + ADVANCE_MS) / ADVANCE_MS) * ADVANCE_MS
      for (let start = first; start <= t; start += ADVANCE_MS) {
        if (start + SIZE_MS <= streamTime - GRACE_MS) continue
        let counts = byStart.get(start)
        if (counts === undefined) {
          counts = new Map()
          byStart.set(start, counts)
        }
        const c = (counts.get(k) ?? 0) + 1
        counts.set(k, c)
        dirty.set(`${start} ${k}`, c)
      }
      if (++n % COMMIT_EVERY === 0) {
        for (const [wk, c] of dirty)
          sink += (str.serialize('c', wk)?.length ?? 0) + (long.serialize('c', c)?.length ?? 0)
        dirty.clear()
        for (const start of byStart.keys())
          if (start + SIZE_MS + GRACE_MS <= streamTime) byStart.delete(start)
      }
    }
  })
}

interface Session {
  start: number
  end: number
  count: number
}

function handSession(records: InputRecord[]): number {
  return rate(() => {
    const sessions = new Map<string, Session[]>()
    const dirty = new Map<string, Session>()
    let streamTime = Number.NEGATIVE_INFINITY
    let n = 0
    for (const r of records) {
      const k = str.deserialize('in', r.key as Buffer)
      num.deserialize('in', r.value as Buffer)
      const t = r.timestamp
      if (t > streamTime) streamTime = t
      let list = sessions.get(k)
      if (list === undefined) {
        list = []
        sessions.set(k, list)
      }
      // Merge every session within the gap of t, then drop the closed ones.
      let merged: Session = { start: t, end: t, count: 1 }
      const kept: Session[] = []
      for (const s of list) {
        if (s.end + GAP_MS >= t && s.start - GAP_MS <= t) {
          merged = {
            start: Math.min(s.start, merged.start),
            end: Math.max(s.end, merged.end),
            count: s.count + merged.count,
          }
        } else if (s.end >= streamTime - GAP_MS - GRACE_MS) kept.push(s)
      }
      kept.push(merged)
      sessions.set(k, kept)
      dirty.set(k, merged)
      if (++n % COMMIT_EVERY === 0) {
        for (const [dk, s] of dirty)
          sink += (str.serialize('c', dk)?.length ?? 0) + (long.serialize('c', s.count)?.length ?? 0)
        dirty.clear()
      }
    }
  })
}

const records = inputs()
const bench = benchmark(
  `${RECORDS.toLocaleString('en')} records over 6 h of event time, ${KEYS.toLocaleString('en')} keys`,
)
const run = bench.run

run('(h) hopping 5m/1m: hand loop (ceiling)', () => handHopping(records))
run('(h) hopping 5m/1m: StreamTask, no-op collector', () => viaTask(hoppingTopology(), records))
run('(h) hopping 5m/1m: test driver, commit per 10k', () => viaDriver(hoppingTopology()))
run('(s) session 5m: hand loop (ceiling)', () => handSession(records))
run('(s) session 5m: StreamTask, no-op collector', () => viaTask(sessionTopology(), records))
run('(s) session 5m: test driver, commit per 10k', () => viaDriver(sessionTopology()))

bench.print(sink)

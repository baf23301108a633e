// Join stores restored from their changelogs: a driver that stops after some records and a new driver
// restored from the changelogs it wrote give the same results for the records that follow as the driver
// that went on. Windowed stream-stream joins (both window stores and the shared outer store), stream-table
// and table-table joins (the table stores), on random inputs.
// A stream-stream join's time tracker lives in memory only, as in Kafka Streams (KStreamImplJoin.TimeTracker):
// its stream time, so the first record after the restart carries the largest timestamp so far (both drivers
// then agree on it), and the minTime that gates the scan for closed windows, which depends on history no
// store keeps (in Kafka too), so unmatched records may come out at other times, and stream-stream results
// are compared as a multiset after a final record far in the future. Records are at most grace - 1 behind
// stream time, so a record emitted unmatched could not have been matched later in the other driver.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  JoinWindows,
  Serdes,
  StreamsBuilder,
  type Topology,
  TopologyTestDriver,
} from '../../../topology/index.js'
import type { ChangelogRecord } from '../../../topology/internals/state/build-key-value-store.js'
import { show, str } from './join-fixtures.js'

type Kind = 'ss-inner' | 'ss-left' | 'ss-outer' | 'st-inner' | 'st-left' | 'tt-inner' | 'tt-left' | 'tt-outer'
type In = readonly [left: boolean, key: string, value: string | null, ts: number]

function topology(kind: Kind, windows: JoinWindows): Topology {
  const b = new StreamsBuilder()
  const consumed = { keySerde: str, valueSerde: str }
  const produced = { keySerde: str, valueSerde: str }
  if (kind.startsWith('ss-')) {
    const left = b.stream<string, string>('left', consumed)
    const right = b.stream<string, string>('right', consumed)
    if (kind === 'ss-inner') left.join(right, show, windows).to('out', produced)
    else if (kind === 'ss-left') left.leftJoin(right, show, windows).to('out', produced)
    else left.outerJoin(right, show, windows).to('out', produced)
  } else if (kind.startsWith('st-')) {
    const left = b.stream<string, string>('left', consumed)
    const right = b.table<string, string>('right', consumed)
    if (kind === 'st-inner') left.join(right, show).to('out', produced)
    else left.leftJoin(right, show).to('out', produced)
  } else {
    const left = b.table<string, string>('left', consumed)
    const right = b.table<string, string>('right', consumed)
    const joined =
      kind === 'tt-inner'
        ? left.join(right, show)
        : kind === 'tt-left'
          ? left.leftJoin(right, show)
          : left.outerJoin(right, show)
    joined.toStream().to('out', produced)
  }
  return b.build()
}

function pipe(driver: TopologyTestDriver, records: readonly In[]): string[] {
  const left = driver.createInputTopic('left', str, str)
  const right = driver.createInputTopic('right', str, str)
  const out = driver.createOutputTopic('out', str, str)
  for (const [isLeft, key, value, ts] of records) (isLeft ? left : right).pipeInput(key, value, ts)
  return out.readRecordsToList().map((r) => `${r.key} ${r.value} ${r.timestamp}`)
}

function changelogs(driver: TopologyTestDriver): Record<string, ChangelogRecord[]> {
  const out: Record<string, ChangelogRecord[]> = {}
  for (const topic of driver.producedTopicNames()) {
    if (!topic.endsWith('-changelog')) continue
    out[topic] = driver
      .createOutputTopic(topic, Serdes.Buffer(), Serdes.Buffer())
      .readKeyValuesToList()
      .map(([key, value]) => ({ key, value }))
  }
  return out
}

const arbCase = fc
  .record({
    kind: fc.constantFrom<Kind>(
      'ss-inner',
      'ss-left',
      'ss-outer',
      'st-inner',
      'st-left',
      'tt-inner',
      'tt-left',
      'tt-outer',
    ),
    before: fc.integer({ min: 0, max: 8 }),
    after: fc.integer({ min: 0, max: 8 }),
    grace: fc.integer({ min: 0, max: 8 }),
    records: fc.array(
      fc.tuple(
        fc.boolean(),
        fc.constantFrom('a', 'b', 'c'),
        fc.option(fc.integer({ min: 0, max: 9 }), { freq: 8 }),
        fc.integer({ min: 0, max: 10 }),
      ),
      { minLength: 2, maxLength: 60 },
    ),
    split: fc.nat(),
  })
  .map(({ kind, before, after, grace, records, split }) => {
    const ins: In[] = records.map(([left, key, v, jitter], i) => [
      left,
      key,
      v === null ? null : `v${v}`,
      Math.max(0, i * 2 - (kind.startsWith('ss-') ? (grace === 0 ? 0 : jitter % grace) : jitter)),
    ])
    const at = 1 + (split % (ins.length - 1))
    const largest = Math.max(...ins.slice(0, at).map(([, , , ts]) => ts))
    const [l, k, v, ts] = ins[at] as In
    ins[at] = [l, k, v, Math.max(ts, largest)]
    return { kind, windows: JoinWindows.ofTimeDifferenceAndGrace(before, grace).after(after), ins, at }
  })

describe('join stores restored from their changelogs', () => {
  it('give the same subsequent results as the driver that went on (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ kind, windows, ins, at }) => {
        // One topology each, as two instances would have: a stream-stream join's time trackers belong to
        // the topology (by task), as Kafka's TimeTrackerSupplier belongs to its processor supplier.
        const going = new TopologyTestDriver(topology(kind, windows))
        pipe(going, ins.slice(0, at))
        const restored = new TopologyTestDriver(topology(kind, windows), { changelogs: changelogs(going) })
        if (!kind.startsWith('ss-')) {
          expect(pipe(restored, ins.slice(at))).toEqual(pipe(going, ins.slice(at)))
        } else {
          const largest = Math.max(...ins.map(([, , , ts]) => ts))
          const rest: In[] = [...ins.slice(at), [true, 'flush', 'F', largest + windows.retentionMs + 100]]
          expect(pipe(restored, rest).sort()).toEqual(pipe(going, rest).sort())
        }
        going.close()
        restored.close()
      }),
      { numRuns: 300 },
    )
  })
})

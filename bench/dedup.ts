// The memory and time deduplication takes per event id: the Agent Party topology's `dropDuplicates`
// (processors/dedup.ts) through a stream task (record cache, changelog logging to a no-op collector,
// in-memory store), on N events of distinct UUIDs, 1,000 per second of event time, 1% of them sent twice,
// a commit every 10k events; all within the 1 h horizon, as in P8's runs. Then full GCs and the
// process's heap and array buffers against the same process before the task, per id remembered, and
// its RSS after a last-resort GC (which gives free pages back; the RSS before it still holds the
// pages of making the input, freed since).
//
//   npx node --expose-gc --import tsx bench/dedup.ts [--events 1000000]
//   npm run bench:dedup
import { randomUUID } from 'node:crypto'
import { dropDuplicates } from '../processors/dedup.js'
import { type Serde, Serdes, StreamsBuilder } from '../topology/index.js'
import type { InputRecord } from '../topology/internals/runtime/input-record.js'
import { NO_HEADERS } from '../topology/stream-record.js'
import { type SettledMemory, settleMemory, standaloneTask } from './harness.js'
import { machineLoad } from './machine.js'

const EVENTS = Number(process.argv[process.argv.indexOf('--events') + 1]) || 1_000_000
const BATCH = 10_000
const MiB = 2 ** 20

interface Event {
  readonly event_id: string
  readonly occurred_at: number
}

/** The id as 36 bytes of text (decoded as avsc decodes a string) and the event time as a double. */
const eventSerde: Serde<Event> = {
  serialize: (_topic, e) => {
    const bytes = Buffer.alloc(44)
    bytes.write(e.event_id, 0, 'latin1')
    bytes.writeDoubleBE(e.occurred_at, 36)
    return bytes
  },
  deserialize: (_topic, bytes) => ({
    event_id: bytes.toString('utf8', 0, 36),
    occurred_at: bytes.readDoubleBE(36),
  }),
}

function input(): InputRecord[][] {
  const base = Date.UTC(2026, 0, 1)
  const batches: InputRecord[][] = []
  let batch: InputRecord[] = []
  let last: InputRecord | undefined
  for (let i = 0; i < EVENTS; i++) {
    // One in a hundred is a producer's retry of the event before it.
    const record: InputRecord =
      i % 100 === 99 && last !== undefined
        ? { ...last, offset: i }
        : {
            topic: 'in',
            partition: 0,
            offset: i,
            timestamp: base + i,
            key: Buffer.from(`agent-${i % 10_000}`),
            value: eventSerde.serialize('in', { event_id: randomUUID(), occurred_at: base + i }) as Buffer,
            headers: NO_HEADERS,
          }
    last = record
    batch.push(record)
    if (batch.length === BATCH) {
      batches.push(batch)
      batch = []
    }
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

const batches = input()
const before = settleMemory()
const str = Serdes.String()
const builder = new StreamsBuilder()
let duplicates = 0
dropDuplicates(builder, builder.stream<string, Event>('in', { keySerde: str, valueSerde: eventSerde }), {
  name: 'dedup',
  keySerde: str,
  horizonMs: 3_600_000,
  eventId: (e) => e.event_id,
  eventTime: (e) => e.occurred_at,
  onDuplicate: () => duplicates++,
}).to('out', { keySerde: str, valueSerde: eventSerde })
const task = standaloneTask(builder.build(), 'bench-dedup')
const cpu = process.cpuUsage()
const started = performance.now()
for (const batch of batches) {
  task.addRecords('in', 0, batch)
  task.process()
  task.prepareCommit()
  task.postCommit()
}
const seconds = (performance.now() - started) / 1000
const used = process.cpuUsage(cpu)
const after = settleMemory()
// The task and the input (measured in `before` as well) stay reachable until measured.
if (task.getStore('dedup-seen-id-buckets') === undefined || batches.length === 0)
  throw new Error('nothing ran')
const ids = EVENTS - duplicates
const per = (field: keyof SettledMemory) => String(Math.round(((after[field] - before[field]) * MiB) / ids))
console.log(`${machineLoad()}, node ${process.version}`)
console.log(
  `${EVENTS.toLocaleString('en')} events, ${ids.toLocaleString('en')} ids remembered, ${duplicates.toLocaleString('en')} dropped`,
)
console.log(
  `${Math.round(EVENTS / seconds).toLocaleString('en')} events/s, ${(((used.user + used.system) / EVENTS) * 1000).toFixed(0)} ns of CPU per event (every thread, GC included)`,
)
console.log(
  `per id: heap ${per('heap')} B, array buffers ${per('arrayBuffers')} B, rss after a last-resort GC ${per('rssReleased')} B`,
)
console.log(
  `events_per_s=${Math.round(EVENTS / seconds)} heap_per_id=${per('heap')} array_buffers_per_id=${per('arrayBuffers')} rss_released_per_id=${per('rssReleased')}`,
)

// Encode and decode throughput of each topic's envelope, one core, both encodings, with raw avsc as
// the baseline and a resolving read beside the direct one, all measured in one run so the ratios hold
// on a loaded machine. Run: `npx tsx bench/serde.ts [--seconds 1.5] [--json]`.
import { cpus, loadavg, totalmem } from 'node:os'
import type { Resolver, Type } from 'avsc'
import {
  createEventSerdes,
  EVENT_FAMILIES,
  type EventFamily,
  type EventSerde,
  generateRecords,
  MemorySchemaLookup,
  schemaCatalog,
} from '../schemas/index.js'
import { loadSchemaCatalog, parseSchemaText } from '../schemas/schema-catalog.js'
import { createSingleObjectSerde } from '../schemas/serde/single-object-serde.js'

const SAMPLE_SIZE = 20_000
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 1.5

interface Row {
  family: EventFamily
  case: string
  eventsPerSecond: number
  avgBytes: number
}

/** Events per second of `work` over `events`, the best of three timed rounds after a warm-up. */
function measure(events: number, work: () => void): number {
  const deadline = performance.now() + 300
  while (performance.now() < deadline) work()
  const rates: number[] = []
  for (let round = 0; round < 3; round++) {
    let done = 0
    const start = performance.now()
    while (performance.now() - start < (seconds * 1000) / 3) {
      work()
      done += events
    }
    rates.push(done / ((performance.now() - start) / 1000))
  }
  return Math.max(...rates)
}

function samples(): Record<EventFamily, unknown[]> {
  const out = Object.fromEntries(EVENT_FAMILIES.map((f) => [f, [] as unknown[]])) as Record<
    EventFamily,
    unknown[]
  >
  for (const record of generateRecords({ seed: 'bench', count: 200_000, baseTime: Date.UTC(2026, 0, 1) })) {
    const list = out[record.family]
    if (list.length < SAMPLE_SIZE) list.push(record.event)
  }
  return out
}

async function main(): Promise<void> {
  const catalog = schemaCatalog()
  const events = samples()
  const registry = await createEventSerdes({ lookup: new MemorySchemaLookup(), autoRegister: true })
  const singleObject = await createEventSerdes({ encoding: 'single-object' })
  const rows: Row[] = []
  const add = (family: EventFamily, name: string, n: number, bytes: number, work: () => void) =>
    rows.push({ family, case: name, eventsPerSecond: measure(n, work), avgBytes: bytes })

  for (const family of EVENT_FAMILIES) {
    const list = events[family]
    const type: Type = catalog[family].current.type
    const avg = (buffers: Buffer[]) => buffers.reduce((s, b) => s + b.length, 0) / buffers.length
    const raw = list.map((e) => type.toBuffer(e))
    const encodeWith = (serde: EventSerde<unknown>) => list.map((e) => serde.serialize(e))
    const reg = encodeWith(registry[family] as EventSerde<unknown>)
    const so = encodeWith(singleObject[family] as EventSerde<unknown>)

    add(family, 'encode: raw avsc toBuffer (baseline)', list.length, avg(raw), () => {
      for (const e of list) type.toBuffer(e)
    })
    add(family, 'encode: registry wire format', list.length, avg(reg), () => {
      for (const e of list) (registry[family] as EventSerde<unknown>).serialize(e)
    })
    add(family, 'encode: single-object', list.length, avg(so), () => {
      for (const e of list) (singleObject[family] as EventSerde<unknown>).serialize(e)
    })
    add(family, 'decode: raw avsc fromBuffer (baseline)', raw.length, avg(raw), () => {
      for (const b of raw) type.fromBuffer(b)
    })
    add(family, 'decode: registry wire format', reg.length, avg(reg), () => {
      for (const b of reg) registry[family].deserialize(b)
    })
    add(family, 'decode: single-object', so.length, avg(so), () => {
      for (const b of so) singleObject[family].deserialize(b)
    })
    // The same bytes through an avsc resolver (writer = reader schema, parsed separately): what a
    // resolving read costs over a direct one, the price of reading an older writer version.
    const resolver: Resolver = type.createResolver(
      parseSchemaText(family, 'bench', catalog[family].current.text).type,
    )
    add(family, 'decode: raw avsc through a resolver', raw.length, avg(raw), () => {
      for (const b of raw) type.fromBuffer(b, resolver)
    })
  }

  // agent_events has a real older version: v1 data read by the current (v2) reader.
  const history = loadSchemaCatalog().agent_events.history
  const v1 = history[0]
  if (v1) {
    const writer = createSingleObjectSerde({
      family: 'agent_events',
      schemas: { ...catalog.agent_events, current: v1 },
    })
    const v1Events = events.agent_events.map((e) => stripModel(e))
    const v1Bytes = v1Events.map((e) => writer.serialize(e as never))
    add('agent_events', 'decode: single-object, v1 writer resolved to v2', v1Bytes.length, 0, () => {
      for (const b of v1Bytes) singleObject.agent_events.deserialize(b)
    })
  }
  report(rows)
}

function stripModel(event: unknown): unknown {
  const e = structuredClone(event) as { payload: Record<string, Record<string, unknown>> }
  const created = e.payload['agent_party.events.AgentCreated']
  if (created) delete created.model
  return e
}

function report(rows: Row[]): void {
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
    return
  }
  const [one, five, fifteen] = loadavg().map((l) => l.toFixed(2))
  process.stdout.write(
    `node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `load ${one} ${five} ${fifteen}, ${seconds}s per case, ${SAMPLE_SIZE} events per family\n\n`,
  )
  for (const family of EVENT_FAMILIES) {
    const mine = rows.filter((r) => r.family === family)
    const base = (name: string) => mine.find((r) => r.case === name)?.eventsPerSecond ?? Number.NaN
    process.stdout.write(`${family}\n`)
    for (const row of mine) {
      const baseline = base(
        row.case.startsWith('encode')
          ? 'encode: raw avsc toBuffer (baseline)'
          : 'decode: raw avsc fromBuffer (baseline)',
      )
      const bytes = row.avgBytes > 0 ? `${row.avgBytes.toFixed(0).padStart(4)} B` : '     '
      process.stdout.write(
        `  ${row.case.padEnd(48)} ${Math.round(row.eventsPerSecond).toLocaleString('en').padStart(11)} ev/s  ${bytes}  x${(row.eventsPerSecond / baseline).toFixed(2)}\n`,
      )
    }
  }
}

await main()

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createEventSerdes,
  decodeFixtureFile,
  decodeJsonlFile,
  eventFamilies,
  isEventFamily,
  type OutgoingRecord,
  type ProduceProgress,
  produceEvents,
} from '../../../../schemas/index.js'

const BASE = Date.UTC(2026, 0, 1)
const dir = mkdtempSync(join(tmpdir(), 'produce-events-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const options = {
  count: 3000,
  baseTime: BASE,
  outOfOrderShare: 0.05,
  lateShare: 0.01,
  duplicateShare: 0.02,
}

async function fixture(name: string, seed: number | string, format: 'binary' | 'jsonl'): Promise<Buffer> {
  const path = join(dir, name)
  await produceEvents({ ...options, seed, target: { kind: 'file', path, format } })
  return readFileSync(path)
}

describe('determinism', () => {
  it('same seed and options, same bytes (binary and JSONL fixtures)', async () => {
    expect((await fixture('a.bin', 42, 'binary')).equals(await fixture('b.bin', 42, 'binary'))).toBe(true)
    expect((await fixture('a.jsonl', 42, 'jsonl')).equals(await fixture('b.jsonl', 42, 'jsonl'))).toBe(true)
  })

  it('another seed, other bytes', async () => {
    expect((await fixture('c.bin', 42, 'binary')).equals(await fixture('d.bin', 43, 'binary'))).toBe(false)
  })
})

describe('fixture files', () => {
  it('binary: every record decodes with the serde of its topic; keys are the UTF-8 entity ids', async () => {
    const serdes = await createEventSerdes({ encoding: 'single-object' })
    const records = decodeFixtureFile(await fixture('e.bin', 5, 'binary'))
    expect(records).toHaveLength(3000)
    for (const record of records) {
      if (!isEventFamily(record.topic)) throw new Error(`unexpected topic ${record.topic}`)
      const event = serdes[record.topic].deserialize(record.value) as unknown as Record<string, unknown>
      expect(event[eventFamilies[record.topic].keyField]).toBe(record.key.toString('utf8'))
      expect(event.occurred_at).toBe(record.timestamp)
    }
  })

  it('JSONL: the readable event and the exact bytes of the binary fixture', async () => {
    const binary = decodeFixtureFile(await fixture('f.bin', 6, 'binary'))
    const lines = decodeJsonlFile((await fixture('f.jsonl', 6, 'jsonl')).toString('utf8'))
    expect(lines.map((l) => l.value)).toEqual(binary.map((r) => r.value))
    expect(lines.map((l) => l.key)).toEqual(binary.map((r) => r.key))
    const serdes = await createEventSerdes({ encoding: 'single-object' })
    const first = lines[0]
    if (!first || !isEventFamily(first.topic)) throw new Error('no first line')
    expect(serdes[first.topic].deserialize(first.value)).toEqual(first.event)
  })

  it('refuses a file that is not a fixture, or is cut', async () => {
    expect(() => decodeFixtureFile(Buffer.from('hello'))).toThrow(/not a binary fixture/)
    const bytes = await fixture('g.bin', 7, 'binary')
    expect(() => decodeFixtureFile(bytes.subarray(0, bytes.length - 3))).toThrow(/cut/)
  })
})

describe('produceEvents', () => {
  it('writes batches to a sink, reports progress after each and a summary at the end', async () => {
    const batches: OutgoingRecord[][] = []
    const progress: ProduceProgress[] = []
    const summary = await produceEvents(
      {
        seed: 9,
        count: 2500,
        baseTime: BASE,
        batchSize: 1000,
        topics: { agent_events: 'x-agents' },
        target: {
          kind: 'sink',
          sink: { write: async (b) => void batches.push([...b]), close: async () => {} },
        },
      },
      (p) => progress.push(p),
    )
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500])
    expect(progress.map((p) => [p.written, p.done])).toEqual([
      [1000, false],
      [2000, false],
      [2500, false],
      [2500, true],
    ])
    expect(summary.written).toBe(2500)
    expect(Object.values(summary.byTopic).reduce((a, b) => a + b, 0)).toBe(2500)
    expect(Object.keys(summary.byTopic).sort()).toEqual([
      'system_events',
      'task_events',
      'team_events',
      'x-agents',
    ])
  })

  it('stops after the current batch when aborted', async () => {
    const controller = new AbortController()
    const summary = await produceEvents({
      seed: 9,
      count: 10_000,
      baseTime: BASE,
      batchSize: 100,
      signal: controller.signal,
      target: { kind: 'sink', sink: { write: async () => controller.abort(), close: async () => {} } },
    })
    expect(summary.written).toBe(100)
  })

  it('paces writes to the given rate', async () => {
    const started = performance.now()
    await produceEvents({
      seed: 1,
      count: 40,
      rate: 200,
      baseTime: BASE,
      target: { kind: 'sink', sink: { write: async () => {}, close: async () => {} } },
    })
    expect(performance.now() - started).toBeGreaterThanOrEqual(190)
  })
})

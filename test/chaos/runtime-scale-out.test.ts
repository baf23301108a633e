// Scale-out by partition: one instance, then three, then two (one stopped with SIGTERM mid-run). The
// tasks and their state move between processes while input keeps arriving. With the classic protocol
// and exactly-once the read_committed output is exact, window for window; with the consumer protocol
// (KIP-848, at-least-once) no window is missing and none is under-counted. Either way the live
// instances end owning every task exactly once, and the rebalance pauses are reported.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { StreamsProcess } from '../support/streams-process.js'
import { closingRecords, produceTokenEvents, referenceWindows, tokenEvents } from '../support/token-events.js'
import { countSumSerde, WINDOW_MS } from '../support/token-windows-app.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const PARTITIONS = 8
const topics: string[] = []

afterAll(() => deleteTestTopics(config, topics))

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A promise that resolves when opened. */
function gate(): { open(): void; opened: Promise<void> } {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

interface Protocol {
  readonly name: 'classic' | 'consumer'
  readonly guarantee: 'exactly_once' | 'at_least_once'
}

describe.each<Protocol>([
  { name: 'classic', guarantee: 'exactly_once' },
  { name: 'consumer', guarantee: 'at_least_once' },
])('scale-out, $name protocol, $guarantee', ({ name, guarantee }) => {
  it('moves tasks and their state between instances without losing a window', async () => {
    const input = `${prefix}-${name}-in`
    const output = `${prefix}-${name}-out`
    const appId = `${prefix}-${name}-app`
    topics.push(input, output, `${appId}-dlq`, `${appId}-late`, `${appId}-token-windows-changelog`)
    await createTestTopics(config, [input, output], PARTITIONS)
    const instance = (id: string): StreamsProcess =>
      new StreamsProcess({
        APP_ID: appId,
        APP_INPUT: input,
        APP_OUTPUT: output,
        APP_BOOTSTRAP: config.kafka.bootstrapServers.join(','),
        APP_STATE_DIR: mkdtempSync(join(tmpdir(), `${id}-`)),
        APP_INSTANCE_ID: id,
        APP_PROBE_PORT: '0',
        APP_GROUP_PROTOCOL: name,
        APP_GUARANTEE: guarantee,
      })
    const events = tokenEvents(150_000, 5000, 21)
    // A third of the input for each phase (one instance, three, two), each third produced only once its
    // phase has begun: however long the instances take to start, each of them gets input to process.
    const threeRunning = gate()
    const bStopped = gate()
    const producing = (async () => {
      for (let i = 0; i < events.length; i += 5000) {
        if (i === 50_000) await threeRunning.opened
        if (i === 100_000) await bStopped.opened
        await produceTokenEvents(config, input, events.slice(i, i + 5000))
        await sleep(250)
      }
      const last = (events.at(-1)?.timestamp as number) + 1
      await produceTokenEvents(config, input, [], closingRecords(PARTITIONS, last))
    })()

    const a = instance('a')
    await a.waitForLine(/^state RUNNING/)
    await sleep(1500)
    const b = instance('b')
    const c = instance('c')
    await Promise.all([b.waitForLine(/^tasks \["/), c.waitForLine(/^tasks \["/)])
    threeRunning.open()
    await sleep(2000)
    // SIGTERM: commit, leave the group (its static membership removed) and exit, within the bound.
    const stopping = Date.now()
    expect(await b.kill('SIGTERM')).toBe(0)
    expect(Date.now() - stopping).toBeLessThan(10_000)
    bStopped.open()
    await producing

    try {
      const expected = referenceWindows(events, WINDOW_MS)
      const records = await readTopicRaw(config, output, {
        expected: expected.size,
        isolation: 'read_committed',
        quietMs: 1500,
        timeoutMs: 90_000,
      })
      const seen = new Map<string, { count: number; sum: number }>()
      const repeated: string[] = []
      for (const r of records) {
        const key = r.key as Buffer
        const id = `${key.subarray(0, key.length - 8).toString()}@${Number(key.readBigInt64BE(key.length - 8))}`
        if (seen.has(id)) repeated.push(id)
        seen.set(id, countSumSerde.deserialize('', r.value as Buffer))
      }
      expect(seen.size).toBe(expected.size)
      if (guarantee === 'exactly_once') {
        expect(repeated).toEqual([])
        for (const [id, value] of expected) expect(seen.get(id), id).toEqual(value)
      } else {
        // At-least-once: a record may be counted twice across a move, never lost.
        for (const [id, value] of expected)
          expect(seen.get(id)?.count ?? 0, id).toBeGreaterThanOrEqual(value.count)
      }

      // Every task is owned by exactly one of the live instances.
      await sleep(1500)
      const owned = [...a.tasks(), ...c.tasks()].sort()
      expect(owned).toEqual(Array.from({ length: PARTITIONS }, (_, p) => `0_${p}`).sort())
      expect(a.tasks().length).toBeGreaterThan(0)
      expect(c.tasks().length).toBeGreaterThan(0)
      for (const live of [a, c]) {
        const port = live.lines.find((l) => l.startsWith('probe '))?.slice(6)
        const ready = await fetch(`http://127.0.0.1:${port}/ready`)
        expect(ready.status).toBe(200)
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
        expect(metrics).toMatch(new RegExp(`agent_party_streams_tasks ${live.tasks().length}\\b`))
        expect(metrics).toMatch(/agent_party_streams_commits_total [1-9]/)
      }
      expect(
        b.lines.some((l) => /^tasks \["/.test(l)),
        'b ran tasks before it stopped',
      ).toBe(true)
      const pauses = [a, b, c].flatMap((p) =>
        p.lines.filter((l) => l.startsWith('pause ')).map((l) => Number(l.slice(6))),
      )
      console.log(
        `${name} protocol: rebalance pauses (ms) ${JSON.stringify(pauses)}, ${repeated.length} windows emitted more than once`,
      )
    } finally {
      await Promise.all([a.kill('SIGTERM'), c.kill('SIGTERM')])
    }
  })
})

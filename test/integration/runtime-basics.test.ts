// KafkaStreams on the real broker, one instance in this process: a windowed count and sum comes out
// exactly as a naive reading of the input says (read_committed), undecodable records go to the
// dead-letter topic with their reason, and a restarted instance restores its state and goes on.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Logger, pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdmin, createProducer } from '../../kafka/clients.js'
import { readDeadLetterHeaders } from '../../kafka/dead-letter.js'
import { deleteTopicsUntilGone, describeTopics } from '../../kafka/topics.js'
import {
  type KStream,
  Materialized,
  type Serde,
  Serdes,
  StreamsBuilder,
  type Topology,
} from '../../topology/index.js'
import { KafkaStreams, resetApplication } from '../../topology/runtime/index.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { captureLogs } from '../support/log-capture.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import {
  closingRecords,
  longBytes,
  produceTokenEvents,
  referenceWindows,
  tokenEvents,
} from '../support/token-events.js'
import { countSumSerde, tokenWindowsTopology, WINDOW_MS } from '../support/token-windows-app.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const input = `${prefix}-tokens`
const output = `${prefix}-windows`
const PARTITIONS = 4

beforeAll(() => createTestTopics(config, [input, output], PARTITIONS))
afterAll(() =>
  deleteTestTopics(config, [input, output, `${prefix}-app-dlq`, `${prefix}-app-token-windows-changelog`]),
)

function decodeWindows(
  records: { key: Buffer | undefined; value: Buffer | undefined }[],
): Map<string, { count: number; sum: number }> {
  const out = new Map<string, { count: number; sum: number }>()
  for (const r of records) {
    const key = r.key as Buffer
    const id = `${key.subarray(0, key.length - 8).toString()}@${Number(key.readBigInt64BE(key.length - 8))}`
    if (out.has(id)) throw new Error(`window ${id} emitted twice`)
    out.set(id, countSumSerde.deserialize('', r.value as Buffer))
  }
  return out
}

/** Sends records through an idempotent producer, as an application upstream would. */
async function sendRecords(
  messages: { topic: string; key: Buffer; value: Buffer; partition?: number; timestamp?: bigint }[],
): Promise<void> {
  const producer = createProducer(config.kafka, { clientId: `${prefix}-upstream` })
  try {
    await producer.send({ messages })
  } finally {
    await producer.close()
  }
}

/** An instance with the runtime's defaults and its own state directory. */
function newStreams(topology: Topology, applicationId: string, logger?: Logger): KafkaStreams {
  return new KafkaStreams(topology, {
    applicationId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir: mkdtempSync(join(tmpdir(), 'streams-')),
    ...(logger === undefined ? {} : { logger }),
  })
}

async function startStreams(
  topology: Topology,
  applicationId: string,
  logger?: Logger,
): Promise<KafkaStreams> {
  const s = newStreams(topology, applicationId, logger)
  await s.start()
  return s
}

/** The tests' small topologies: a stream of strings, one step, written out. */
function pipeline<V>(
  from: string,
  to: string,
  step: (stream: KStream<string, string>) => KStream<string, V>,
  valueSerde: Serde<V>,
  sourceValueSerde: Serde<string> = Serdes.String(),
): Topology {
  const builder = new StreamsBuilder()
  step(builder.stream<string, string>(from, { keySerde: Serdes.String(), valueSerde: sourceValueSerde })).to(
    to,
    { keySerde: Serdes.String(), valueSerde },
  )
  return builder.build()
}

function decodeWindowsAllowingRepeats(records: { key: Buffer | undefined }[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of records) {
    const id = (r.key as Buffer).toString('hex')
    out.set(id, (out.get(id) ?? 0) + 1)
  }
  return out
}

function streams(appId: string, stateDir: string): KafkaStreams {
  return new KafkaStreams(tokenWindowsTopology(input, output, true), {
    applicationId: appId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 10_000,
  })
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('KafkaStreams (exactly-once, one instance)', () => {
  it('emits each window once with the exact count and sum, dead-letters bad bytes, and survives a restart', async () => {
    const appId = `${prefix}-app`
    const stateDir = mkdtempSync(join(tmpdir(), 'streams-'))
    const first = tokenEvents(20_000, 200, 7)
    const poison = {
      key: 'agent-poison',
      value: Buffer.from([1, 2, 3]),
      timestamp: first[100]?.timestamp as number,
    }
    await produceTokenEvents(config, input, first.slice(0, 10_000), [poison])

    const a = streams(appId, stateDir)
    await a.start()
    await waitFor(() => a.ready)
    expect(a.status().tasks).toEqual(['0_0', '0_1', '0_2', '0_3'])
    // Let it process the first half, then stop it cleanly: its state must come back from the changelog.
    await new Promise((r) => setTimeout(r, 3000))
    await a.close()
    expect(a.state).toBe('NOT_RUNNING')

    const last = (first.at(-1)?.timestamp as number) + 1
    await produceTokenEvents(config, input, first.slice(10_000), closingRecords(PARTITIONS, last))
    const b = streams(appId, stateDir)
    await b.start()
    try {
      const expected = referenceWindows(first, WINDOW_MS)
      let got = new Map<string, { count: number; sum: number }>()
      await waitFor(async () => {
        got = decodeWindows(
          await readTopicRaw(config, output, {
            expected: expected.size,
            isolation: 'read_committed',
            quietMs: 500,
          }),
        )
        return got.size >= expected.size
      }, 60_000)
      expect(got.size).toBe(expected.size)
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected))

      const dead = await readTopicRaw(config, `${appId}-dlq`, { expected: 1, isolation: 'read_committed' })
      expect(dead).toHaveLength(1)
      expect(dead[0]?.value).toEqual(poison.value)
      const headers = readDeadLetterHeaders(dead[0]?.headers as Map<Buffer, Buffer>)
      expect(headers['dead-letter.code']).toBe('DESERIALIZATION_FAILED')
      expect(headers['dead-letter.source.topic']).toBe(input)
      expect(headers['dead-letter.reason']).toMatch(/.+/)
      // The runtime made its dead-letter and late-record topics with no time retention: the dead
      // letter keeps the poison's January timestamp, which the stack's 24 h retention would expire.
      expect(dead[0]?.timestamp).toBe(BigInt(poison.timestamp))
      const admin = createAdmin(config.kafka, 'test')
      try {
        const made = await describeTopics(admin, [`${appId}-dlq`, `${appId}-late`])
        expect(made.map((t) => [t.name, t.partitions, t.configs['retention.ms']])).toEqual([
          [`${appId}-dlq`, 1, '-1'],
          [`${appId}-late`, 1, '-1'],
        ])
      } finally {
        await admin.close()
      }
    } finally {
      await b.close()
    }
  })

  it('resets the application (refused while an instance runs), after which a run rebuilds every window', async () => {
    const appId = `${prefix}-reset`
    const output2 = `${prefix}-windows-reset`
    await createTestTopics(config, [output2], PARTITIONS)
    const topology = tokenWindowsTopology(input, output2, true)
    const options = { applicationId: appId, bootstrapServers: config.kafka.bootstrapServers }
    // The input the first test wrote: its windows, all closed by its closing records.
    const windows = referenceWindows(tokenEvents(20_000, 200, 7), WINDOW_MS).size
    const run = async (expected: number): Promise<number> => {
      const s = new KafkaStreams(topology, { ...options, stateDir: mkdtempSync(join(tmpdir(), 'streams-')) })
      await s.start()
      try {
        await waitFor(() => s.ready)
        await expect(resetApplication(topology, options)).rejects.toThrow(/GROUP_HAS_MEMBERS.*live member/)
        const records = await readTopicRaw(config, output2, {
          expected,
          isolation: 'read_committed',
          quietMs: 500,
          timeoutMs: 40_000,
        })
        return records.length
      } finally {
        await s.close()
      }
    }
    expect(await run(windows)).toBe(windows)
    const report = await resetApplication(topology, options)
    expect(report.deletedTopics).toEqual([`${appId}-token-windows-changelog`])
    // Gone when the reset returns: a run started at once creates it anew (and does not wait for it).
    const admin = createAdmin(config.kafka, 'test')
    try {
      expect(await admin.listTopics()).not.toContain(`${appId}-token-windows-changelog`)
    } finally {
      await admin.close()
    }
    expect(report.inputOffsets.every((o) => o.offset === 0)).toBe(true)
    // The second run started from the earliest offsets with empty state: every window once more.
    expect(await run(2 * windows)).toBe(2 * windows)
    const repeats = decodeWindowsAllowingRepeats(
      await readTopicRaw(config, output2, {
        expected: 2 * windows,
        isolation: 'read_committed',
        quietMs: 300,
      }),
    )
    expect(repeats.size).toBe(windows)
    expect([...repeats.values()].every((n) => n === 2)).toBe(true)
  })

  it('creates again a changelog deleted while it runs, says so, and goes on with that store empty', async () => {
    const topicIn = `${prefix}-counted`
    const topicOut = `${prefix}-counts`
    const appId = `${prefix}-vanish`
    const changelog = `${appId}-counts-changelog`
    await createTestTopics(config, [topicIn, topicOut], 1)
    const topology = pipeline(
      topicIn,
      topicOut,
      (words) =>
        words.groupByKey().count(Materialized.as<string, number>('counts').withCachingDisabled()).toStream(),
      Serdes.Long(),
    )
    const logs = captureLogs()
    const send = (values: string[]) =>
      sendRecords(values.map((v) => ({ topic: topicIn, key: Buffer.from(v), value: Buffer.from(v) })))
    const counts = async (expected: number) =>
      (
        await readTopicRaw(config, topicOut, { expected, isolation: 'read_committed', timeoutMs: 60_000 })
      ).map((r) => `${r.key?.toString()}=${r.value?.readBigInt64BE(0)}`)
    const s = await startStreams(topology, appId, pino({ level: 'warn' }, logs.destination))
    const admin = createAdmin(config.kafka, `${prefix}-vanish-admin`)
    try {
      await send(['a', 'b', 'a'])
      expect(await counts(3)).toEqual(['a=1', 'b=1', 'a=2'])
      const [size] = s.storeSizes()
      expect(size?.store).toBe('counts')
      expect(size?.entries).toBe(2)
      expect(size?.bytes).toBeGreaterThan(0)
      await deleteTopicsUntilGone(admin, [changelog])
      // The next commit cannot write the changelog: the tasks are rebuilt, and their restore finds it
      // missing. The runtime creates it again and runs on; the counts start over from what comes next.
      await send(['a', 'c'])
      expect((await counts(5)).slice(3)).toEqual(['a=1', 'c=1'])
      expect(await admin.listTopics()).toContain(changelog)
      expect(s.ready).toBe(true)
      expect(logs.text()).toContain(`internal topic(s) ${changelog} had been deleted`)
    } finally {
      await admin.close()
      await s.close()
      await deleteTestTopics(config, [topicIn, topicOut, changelog, `${appId}-dlq`])
    }
  })

  it('is not ready while a source topic is deleted under it, naming the topic, and ready once it is back', async () => {
    const topicIn = `${prefix}-fleeting`
    const topicOut = `${prefix}-fleeting-out`
    await createTestTopics(config, [topicIn, topicOut], 1)
    const s = await startStreams(
      pipeline(topicIn, topicOut, (words) => words.mapValues((v) => v.toUpperCase()), Serdes.String()),
      `${prefix}-fleeting-app`,
    )
    const admin = createAdmin(config.kafka, `${prefix}-fleeting-admin`)
    try {
      await waitFor(() => s.ready)
      await deleteTopicsUntilGone(admin, [topicIn])
      await waitFor(() => !s.ready, 40_000)
      expect(s.state).toBe('RUNNING')
      expect(s.readiness().reasons.join('; ')).toMatch(
        new RegExp(`fetching the input has failed for \\d+ s: .*${topicIn}`),
      )
      await createTestTopics(config, [topicIn], 1)
      await waitFor(() => s.ready, 40_000)
    } finally {
      await admin.close()
      await s.close()
      await deleteTestTopics(config, [topicIn, topicOut, `${prefix}-fleeting-app-dlq`])
    }
  })

  it('dead-letters a record whose processing throws, with its error, and goes on', async () => {
    const topicIn = `${prefix}-words`
    const topicOut = `${prefix}-upper`
    const appId = `${prefix}-words-app`
    await createTestTopics(config, [topicIn, topicOut], 2)
    const topology = pipeline(
      topicIn,
      topicOut,
      (words) =>
        words.mapValues((word) => {
          if (word === 'boom') throw new Error('cannot shout boom')
          return word.toUpperCase()
        }),
      Serdes.String(),
    )
    await sendRecords(
      ['a', 'boom', 'b'].map((w, i) => ({
        topic: topicIn,
        key: Buffer.from(`k${i}`),
        value: Buffer.from(w),
        partition: 0,
      })),
    )
    const s = await startStreams(topology, appId)
    try {
      const out = await readTopicRaw(config, topicOut, {
        expected: 2,
        isolation: 'read_committed',
        timeoutMs: 30_000,
      })
      expect(out.map((r) => r.value?.toString())).toEqual(['A', 'B'])
      const dead = await readTopicRaw(config, `${appId}-dlq`, {
        expected: 1,
        isolation: 'read_committed',
        timeoutMs: 30_000,
      })
      expect(dead.map((r) => r.value?.toString())).toEqual(['boom'])
      const headers = readDeadLetterHeaders(dead[0]?.headers as Map<Buffer, Buffer>)
      expect(headers['dead-letter.code']).toBe('PROCESSING_FAILED')
      expect(headers['dead-letter.reason']).toMatch(/cannot shout boom/)
      expect(headers['dead-letter.source.offset']).toBe('1')
    } finally {
      await s.close()
      await deleteTestTopics(config, [topicIn, topicOut, `${appId}-dlq`])
    }
  })

  it('writes records too late for a window to the late topic, with the window and the stream time', async () => {
    const topicIn = `${prefix}-late-in`
    const topicOut = `${prefix}-late-out`
    const appId = `${prefix}-late-app`
    await createTestTopics(config, [topicIn, topicOut], 1)
    const base = Date.UTC(2026, 0, 1)
    await produceTokenEvents(config, topicIn, [
      { key: 'agent-1', tokens: 5, timestamp: base + 1000 },
      { key: 'agent-1', tokens: 6, timestamp: base + 200_000 },
      // Window [base, base + 60 s) closed at stream time base + 90 s: this one changes no window.
      { key: 'agent-1', tokens: 7, timestamp: base + 2000 },
    ])
    const s = await startStreams(tokenWindowsTopology(topicIn, topicOut, false), appId)
    try {
      const late = await readTopicRaw(config, `${appId}-late`, {
        expected: 1,
        isolation: 'read_committed',
        timeoutMs: 30_000,
      })
      expect(late).toHaveLength(1)
      expect(late[0]?.value).toEqual(longBytes(7))
      expect(late[0]?.timestamp).toBe(BigInt(base + 2000))
      const headers = Object.fromEntries(
        [...(late[0]?.headers ?? [])].map(([k, v]) => [k.toString(), v.toString()]),
      )
      expect(headers).toMatchObject({
        'late.rule': 'time-window-closed',
        'late.store': 'token-windows',
        'late.stream-time': String(base + 200_000),
        'late.window.start': String(base),
        'late.window.end': String(base + 60_000),
        'late.source.topic': topicIn,
        'late.source.offset': '2',
      })
    } finally {
      await s.close()
      await deleteTestTopics(config, [
        topicIn,
        topicOut,
        `${appId}-late`,
        `${appId}-dlq`,
        `${appId}-token-windows-changelog`,
      ])
    }
  })

  it("awaits a source serde's prepare step once per fetched batch before it deserializes", async () => {
    const topicIn = `${prefix}-codes`
    const topicOut = `${prefix}-names`
    const appId = `${prefix}-codes-app`
    await createTestTopics(config, [topicIn, topicOut], 2)
    // Like a registry serde: a value can be read only once prepare() has looked its code up.
    const known = new Map<string, string>()
    let prepared = 0
    const codes: Serde<string> = {
      serialize: (_topic, name) => Buffer.from(name),
      deserialize: (_topic, bytes) => {
        const name = known.get(bytes.toString())
        if (name === undefined) throw new Error(`code ${bytes.toString()} was not prepared`)
        return name
      },
      prepare: async (_topic, values) => {
        prepared++
        await new Promise((r) => setTimeout(r, 5))
        for (const v of values) known.set(v.toString(), `name-of-${v.toString()}`)
      },
    }
    const topology = pipeline(topicIn, topicOut, (names) => names, Serdes.String(), codes)
    await sendRecords(
      ['c1', 'c2', 'c3'].map((c) => ({
        topic: topicIn,
        key: Buffer.from(c),
        value: Buffer.from(c),
      })),
    )
    const s = await startStreams(topology, appId)
    try {
      const out = await readTopicRaw(config, topicOut, {
        expected: 3,
        isolation: 'read_committed',
        timeoutMs: 30_000,
      })
      expect(out.map((r) => r.value?.toString()).sort()).toEqual(['name-of-c1', 'name-of-c2', 'name-of-c3'])
      expect(prepared).toBeGreaterThan(0)
      const dead = await readTopicRaw(config, `${appId}-dlq`, {
        expected: 0,
        isolation: 'read_committed',
        quietMs: 300,
      })
      expect(dead).toEqual([])
    } finally {
      await s.close()
      await deleteTestTopics(config, [topicIn, topicOut, `${appId}-dlq`, `${appId}-late`])
    }
  })

  it('runs a cached aggregate into an asynchronous operator (the commit waits for what the flush started)', async () => {
    const topicIn = `${prefix}-clicks`
    const topicOut = `${prefix}-clicks-x10`
    const appId = `${prefix}-clicks-app`
    await createTestTopics(config, [topicIn, topicOut], 2)
    const topology = pipeline(
      topicIn,
      topicOut,
      (clicks) =>
        clicks
          .groupByKey()
          .count()
          .toStream()
          .mapValuesAsync(
            async (n) => {
              await new Promise((r) => setTimeout(r, 2))
              return String((n ?? 0) * 10)
            },
            { concurrency: 4 },
          ),
      Serdes.String(),
    )
    await sendRecords(
      ['a', 'b', 'a', 'c', 'a', 'b'].map((k) => ({
        topic: topicIn,
        key: Buffer.from(k),
        value: Buffer.from('x'),
      })),
    )
    const s = await startStreams(topology, appId)
    try {
      await waitFor(async () => {
        const out = await readTopicRaw(config, topicOut, {
          expected: 3,
          isolation: 'read_committed',
          quietMs: 300,
        })
        const last = new Map(out.map((r) => [r.key?.toString(), r.value?.toString()]))
        return last.get('a') === '30' && last.get('b') === '20' && last.get('c') === '10'
      }, 30_000)
      expect(s.state).toBe('RUNNING')
    } finally {
      await s.close()
      await deleteTestTopics(config, [topicIn, topicOut, `${appId}-dlq`, `${appId}-late`])
    }
  })

  it('refuses a second instance on the same state directory, naming the holder', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'streams-'))
    const a = streams(`${prefix}-lock`, stateDir)
    await a.start()
    try {
      const b = streams(`${prefix}-lock`, stateDir)
      await expect(b.start()).rejects.toThrow(/STATE_DIR_LOCKED.*locked by process/)
    } finally {
      await a.close()
    }
  })

  it('refuses to start when an output topic is missing, naming it', async () => {
    const s = newStreams(tokenWindowsTopology(input, `${prefix}-nowhere`, true), `${prefix}-no-sink`)
    await expect(s.start()).rejects.toThrow(new RegExp(`MISSING_SINK_TOPIC.*${prefix}-nowhere`))
  })

  it('refuses to start when a source topic is missing, naming it', async () => {
    const s = newStreams(tokenWindowsTopology(`${prefix}-absent`, output, true), `${prefix}-missing`)
    await expect(s.start()).rejects.toThrow(new RegExp(`MISSING_SOURCE_TOPIC.*${prefix}-absent`))
  })
})

// A real Prometheus (Debian's `prometheus` 2.42) against the running processes: it scrapes the API
// (the one exporter of consumer lag) and a processor (the runtime with its probe server, as a child
// process), loads the project's alert rules beside a test rule without `for:` on
// kafka_consumergroup_lag, and that rule fires on lag made on the broker, then resolves when the
// group catches up. The deploy files' scrape jobs and rules thus meet the metrics the processes really
// serve, not a copy of their names.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Admin } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { createAdmin, createProducer } from '../../kafka/clients.js'
import { TestApi } from '../support/api.js'
import { createTestTopics, deleteTestTopics } from '../support/kafka.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'
import { StreamsProcess } from '../support/streams-process.js'
import { produceTokenEvents, tokenEvents } from '../support/token-events.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const lagTopic = `${prefix}-lagging`
const lagGroup = `${prefix}-lagging-group`
const appId = `${prefix}-app`
const input = `${prefix}-in`
const output = `${prefix}-out`
const topics = [lagTopic, input, output, `${appId}-dlq`, `${appId}-late`, `${appId}-token-windows-changelog`]
const PROJECT_RULES = fileURLToPath(new URL('../../deploy/prometheus/rules/agent-party.yml', import.meta.url))

let admin: Admin
let api: TestApi | undefined
let processor: StreamsProcess | undefined
let prometheus: ChildProcess | undefined
let prometheusLog = ''
let base = ''
let dir = ''
let stateDir = ''

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

// biome-ignore lint/suspicious/noExplicitAny: Prometheus' JSON answers, read field by field
async function api_v1(path: string): Promise<any> {
  const response = await fetch(`${base}/api/v1/${path}`)
  const body = (await response.json()) as { status: string; data: unknown }
  expect(body.status, path).toBe('success')
  return body.data
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (prometheus?.exitCode !== null) throw new Error(`prometheus exited:\n${prometheusLog.slice(-2000)}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${prometheusLog.slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

async function commit(offset: number): Promise<void> {
  await admin.alterConsumerGroupOffsets({
    groupId: lagGroup,
    topics: [{ name: lagTopic, partitionOffsets: [{ partition: 0, offset: BigInt(offset) }] }],
  })
}

beforeAll(async () => {
  if (spawnSync('prometheus', ['--version']).error)
    throw new Error('prometheus is not installed: `apt-get install prometheus` (Debian) provides it')
  admin = createAdmin(config.kafka, 'test')
  await createTestTopics(config, [lagTopic], 1)
  await createTestTopics(config, [input, output], 1)

  // A group 7 records behind: 10 records, offset 3 committed.
  const producer = createProducer(config.kafka, {})
  try {
    await producer.send({
      messages: Array.from({ length: 10 }, (_, i) => ({
        topic: lagTopic,
        partition: 0,
        key: Buffer.from('k'),
        value: Buffer.from(`v${i}`),
      })),
    })
  } finally {
    await producer.close()
  }
  await commit(3)

  stateDir = mkdtempSync(join(tmpdir(), 'prometheus-test-app-'))
  api = await TestApi.start({ ...stackEnv(), LAG_GROUPS: lagGroup, LAG_POLL_MS: '500', LOG_LEVEL: 'warn' })
  processor = new StreamsProcess({
    APP_ID: appId,
    APP_INPUT: input,
    APP_OUTPUT: output,
    APP_BOOTSTRAP: config.kafka.bootstrapServers.join(','),
    APP_STATE_DIR: stateDir,
    APP_PROBE_PORT: '0',
  })
  await processor.waitForLine(/^probe \d+$/)
  const probePort = Number(processor.lines.find((l) => /^probe \d+$/.test(l))?.slice(6))
  await produceTokenEvents(config, input, tokenEvents(200, 10, 7))

  dir = mkdtempSync(join(tmpdir(), 'prometheus-test-'))
  mkdirSync(join(dir, 'data'))
  writeFileSync(
    join(dir, 'test-rules.yml'),
    stringify({
      groups: [
        {
          name: 'test',
          rules: [
            {
              alert: 'TestConsumerLag',
              expr: `kafka_consumergroup_lag{consumergroup="${lagGroup}"} > 0`,
              labels: { severity: 'test' },
            },
          ],
        },
      ],
    }),
  )
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ['test-rules.yml', PROJECT_RULES],
      scrape_configs: [
        // the job names of deploy/prometheus/prometheus.yml, on the test's processes
        { job_name: 'agent-party-api', static_configs: [{ targets: [`127.0.0.1:${api.running.port}`] }] },
        { job_name: 'agent-party-processor', static_configs: [{ targets: [`127.0.0.1:${probePort}`] }] },
      ],
    }),
  )
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const keep = (chunk: Buffer) => {
    prometheusLog += chunk.toString()
  }
  prometheus.stdout?.on('data', keep)
  prometheus.stderr?.on('data', keep)
  await until('Prometheus to be ready', async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined))
}, 90_000)

afterAll(async () => {
  if (prometheus?.exitCode === null) {
    prometheus.kill('SIGTERM')
    await new Promise((resolve) => prometheus?.once('exit', resolve))
  }
  await processor?.kill('SIGTERM')
  await api?.close()
  await admin?.deleteGroups({ groups: [lagGroup, appId] }).catch(() => {})
  await admin?.close()
  await deleteTestTopics(config, topics)
  for (const d of [dir, stateDir]) if (d !== '') rmSync(d, { recursive: true, force: true })
}, 60_000)

describe('Prometheus against the running processes', () => {
  it('scrapes the API and the processor, and loads the project rules', async () => {
    const up = await until('both targets up', async () => {
      const data = await api_v1('query?query=up')
      // biome-ignore lint/suspicious/noExplicitAny: Prometheus' JSON
      const jobs = Object.fromEntries(data.result.map((r: any) => [r.metric.job, r.value[1]]))
      return jobs['agent-party-api'] === '1' && jobs['agent-party-processor'] === '1' ? jobs : undefined
    })
    expect(up).toEqual({ 'agent-party-api': '1', 'agent-party-processor': '1' })
    // the processor's own counters, as its probe server serves them
    await until('records processed by the processor', async () => {
      const data = await api_v1(
        `query?query=${encodeURIComponent('sum(agent_party_streams_records_processed_total{job="agent-party-processor"})')}`,
      )
      return Number(data.result[0]?.value[1]) > 0 ? true : undefined
    })
    // the exactly-once producer thread's heap, which the process's own heap metrics leave out
    await until('the producer thread heap', async () => {
      const data = await api_v1(
        `query?query=${encodeURIComponent('agent_party_streams_producer_thread_heap_bytes{job="agent-party-processor"}')}`,
      )
      // biome-ignore lint/suspicious/noExplicitAny: Prometheus' JSON
      const byKind = Object.fromEntries(data.result.map((r: any) => [r.metric.kind, Number(r.value[1])]))
      return byKind.used > 1e6 && byKind.total >= byKind.used ? true : undefined
    })
    // the size of the app's window store, which holds the windows of the events processed so far
    await until('the token-windows store size', async () => {
      const query = (m: string) =>
        api_v1(`query?query=${encodeURIComponent(`${m}{job="agent-party-processor",store="token-windows"}`)}`)
      const entries = Number((await query('agent_party_streams_state_store_entries')).result[0]?.value[1])
      const bytes = Number((await query('agent_party_streams_state_store_bytes')).result[0]?.value[1])
      // a window is 16 bytes of count and sum, its key and the store's arrays
      return entries > 0 && bytes > 40 * entries ? true : undefined
    })
    const groups = (await api_v1('rules')).groups as { name: string; rules: { name: string }[] }[]
    const names = groups.flatMap((g) => g.rules.map((r) => r.name))
    for (const alert of ['HighApiLatency', 'Neo4jConnectionFailures', 'KafkaConsumerLag', 'TestConsumerLag'])
      expect(names).toContain(alert)
  })

  it('fires a rule without `for:` on real consumer lag, and resolves it when the group catches up', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: Prometheus' JSON
    const mine = (alerts: any[]) => alerts.filter((a) => a.labels.alertname === 'TestConsumerLag')
    const alert = await until('TestConsumerLag to fire', async () => {
      const [a] = mine((await api_v1('alerts')).alerts)
      return a?.state === 'firing' ? a : undefined
    })
    expect(alert.labels).toMatchObject({
      consumergroup: lagGroup,
      topic: lagTopic,
      partition: '0',
      job: 'agent-party-api',
      severity: 'test',
    })
    expect(Number(alert.value)).toBe(7)

    await commit(10)
    await until('TestConsumerLag to resolve', async () =>
      mine((await api_v1('alerts')).alerts).length === 0 ? true : undefined,
    )
  })
})

// The sinks through database outages: while events flow through the processors, the stack's Neo4j is
// stopped for 30 s, then its Redis for 30 s (the real servers, stopped and started again by the stack's
// own command). Meanwhile `agent-party run sinks` waits (its /ready says which target is down), retries
// with backoff and never drops a record; once each server is back it resumes from its stored offsets.
// At the end the graph and the read model equal the logs, every record applied exactly once (the
// audit), and the failure counters moved.
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { SinkPipeline } from '../support/sink-pipeline.js'
import { stackDir } from '../support/stack-env.js'
import { StreamsProcess } from '../support/streams-process.js'

const pipeline = new SinkPipeline(import.meta.url)
const CLI = fileURLToPath(new URL('../../cli/main.ts', import.meta.url))
const OUTAGE_MS = 30_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(() => pipeline.setup(), 120_000)
afterAll(async () => {
  // Whatever happened, leave the shared stack running for the tests after this one.
  await runCli(['stack', 'up', '--dir', stackDir(), '--services', 'neo4j,redis', '--no-provision'])
  await pipeline.cleanUp()
}, 300_000)

async function stack(command: 'up' | 'down', service: string): Promise<void> {
  const args = ['stack', command, '--dir', stackDir(), '--services', service]
  const result = await runCli(command === 'up' ? [...args, '--no-provision'] : args)
  expect(result.code, result.stderr).toBe(0)
}

/** Stops a service of the stack for OUTAGE_MS while the sinks run: they say so, wait, and recover. */
async function outage(service: string, port: number, sinks: StreamsProcess): Promise<void> {
  await stack('down', service)
  await expect
    .poll(async () => (await get(port, '/ready')).body, { timeout: 30_000, interval: 500 })
    .toMatch(new RegExp(`${service}: target unavailable`))
  await sleep(OUTAGE_MS)
  expect(sinks.running).toBe(true)
  await stack('up', service)
  await expect.poll(async () => (await get(port, '/ready')).status, { timeout: 60_000 }).toBe(200)
}

/** The port the sinks' probe server listens on, from their "sinks started" log line. */
async function probePort(sinks: StreamsProcess): Promise<number> {
  await sinks.waitForLine(/sinks started/, 120_000)
  const line = sinks.lines.find((l) => l.includes('sinks started')) as string
  return (JSON.parse(line) as { port: number }).port
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: response.status, body: await response.text() }
}

function metric(text: string, name: string, labels = ''): number {
  let total = 0
  for (const line of text.split('\n'))
    if (line.startsWith(name) && line.includes(labels) && !line.startsWith('#'))
      total += Number(line.slice(line.lastIndexOf(' ') + 1))
  return total
}

describe('sinks while Neo4j and then Redis are down for 30 s', () => {
  it('wait, retry and resume: nothing lost, nothing applied twice, failures counted', async () => {
    await pipeline.startProcessor()
    const producing = pipeline.produce(12_000, 100)
    const sinks = new StreamsProcess(pipeline.sinkEnv({ SINKS: 'neo4j,redis' }), CLI, ['run', 'sinks'])
    try {
      const port = await probePort(sinks)
      await expect.poll(async () => (await get(port, '/ready')).status, { timeout: 30_000 }).toBe(200)
      await sleep(5000)

      for (const service of ['neo4j', 'redis']) await outage(service, port, sinks)

      await producing
      await pipeline.finishProcessor()
      const { neo4j, redis } = await pipeline.targets()
      try {
        const outputs = await pipeline.readLog([...neo4j.topics, ...redis.topics])
        expect(await pipeline.sinksDifferences(neo4j, redis, outputs)).toEqual([])
      } finally {
        await neo4j.close()
        await redis.close()
      }
      const metrics = (await get(port, '/metrics')).body
      expect(metric(metrics, 'neo4j_connection_failures_total')).toBeGreaterThan(0)
      expect(
        metric(metrics, 'agent_party_streams_sink_retries_total', 'sink="neo4j",kind="transient"'),
      ).toBeGreaterThan(0)
      expect(
        metric(metrics, 'agent_party_streams_sink_retries_total', 'sink="redis",kind="transient"'),
      ).toBeGreaterThan(0)
      expect(await sinks.kill('SIGTERM')).toBe(0)
    } finally {
      await sinks.kill('SIGKILL')
    }
  }, 600_000)
})

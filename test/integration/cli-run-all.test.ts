// `agent-party run all` as a user runs it: a child process with the stack's environment and this
// file's application, sink group prefix, Redis prefix and ports. The processor and the Redis sink share
// one probe server on METRICS_PORT (ready when both are, both roles' metrics on one /metrics), the API
// answers on API_PORT; an agent created through the API goes through Kafka, the processor and the sink
// into Redis and is read back through the API; SIGTERM ends the process cleanly (exit 0, ports closed).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { prefixedTopics } from '../../ops/produce.js'
import { OUTPUT_NAMES } from '../../processors/outputs.js'
import { PASSWORD, TEST_SECRET, usersFile } from '../support/api.js'
import { removePipelineRun } from '../support/cleanup.js'
import { RunningCli } from '../support/cli.js'
import { createTestTopics } from '../support/kafka.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const inputs = prefixedTopics(`${prefix}.`)
const applicationId = `${prefix}-app`
const sinkGroupPrefix = `${prefix}-sink`
const redisPrefix = `${prefix}:`
const dir = mkdtempSync(join(tmpdir(), 'cli-run-all-'))
const processorFile = join(dir, 'processor.json')

/** `run all`; its output: its logs, at info, and any error. */
let cli: RunningCli | undefined
let metricsPort = 0
let apiPort = 0

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function get(port: number, path: string, token?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(5000),
  })
  return { status: response.status, text: await response.text() }
}

beforeAll(async () => {
  writeFileSync(
    processorFile,
    JSON.stringify({
      applicationId,
      inputTopics: inputs,
      outputTopics: Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${prefix}-${n}`])),
    }),
  )
  await createTestTopics(config, Object.values(inputs), 1)
  metricsPort = await freePort()
  apiPort = await freePort()
  const env = {
    ...process.env,
    ...stackEnv(),
    PROCESSOR_CONFIG: processorFile,
    // No registry subjects for this file's topics: the serdes travel with the code.
    SCHEMA_ENCODING: 'single-object',
    SINKS: 'redis',
    SINK_GROUP_PREFIX: sinkGroupPrefix,
    REDIS_KEY_PREFIX: redisPrefix,
    STATE_DIR: join(dir, 'state'),
    METRICS_PORT: String(metricsPort),
    API_PORT: String(apiPort),
    API_HOST: '127.0.0.1',
    API_JWT_SECRET: TEST_SECRET,
    API_USERS_FILE: await usersFile(),
    API_RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'info',
  }
  cli = new RunningCli(['run', 'all'], env)
})

afterAll(async () => {
  await cli?.kill()
  await removePipelineRun(config, {
    prefix,
    groups: [applicationId, `${sinkGroupPrefix}-redis`],
    redisPrefix,
  })
  rmSync(dir, { recursive: true, force: true })
})

describe('agent-party run all', () => {
  it('serves the API and one probe server for the processor and the sinks, and an event goes through to Redis', async () => {
    await vi.waitFor(
      async () => {
        if (cli?.child.exitCode !== null)
          throw new Error(`run all exited ${cli?.child.exitCode}: ${cli?.output}`)
        expect((await get(apiPort, '/ready')).status).toBe(200)
        expect((await get(metricsPort, '/ready')).status).toBe(200)
      },
      { timeout: 45_000, interval: 250 },
    )
    const token = await fetch(`http://127.0.0.1:${apiPort}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', username: 'admin', password: PASSWORD }),
    }).then(async (r) => ((await r.json()) as { access_token: string }).access_token)
    const created = await fetch(`http://127.0.0.1:${apiPort}/agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        template_id: 'tmpl-run-all',
        version: 3,
        name: `${prefix}-agent`,
        capabilities: [{ name: 'code-review', category: 'coding' }],
      }),
    })
    expect(created.status).toBe(202)
    const { key, topic } = (await created.json()) as { key: string; topic: string }
    expect(topic).toBe(inputs.agent_events)
    await vi.waitFor(
      async () => {
        const agent = await get(apiPort, `/agents/${encodeURIComponent(key)}`, token)
        expect(agent.status).toBe(200)
        expect(JSON.parse(agent.text)).toMatchObject({ agent_id: key, name: `${prefix}-agent` })
      },
      { timeout: 30_000, interval: 250 },
    )
    // One /metrics for both roles: the processor's commits and the sink's applied records.
    const metrics = (await get(metricsPort, '/metrics')).text
    expect(metrics).toMatch(/^agent_party_streams_commits_total(\{[^}]*\})? [1-9]/m)
    expect(metrics).toMatch(
      /^agent_party_streams_sink_records_applied_total\{[^}]*sink="redis"[^}]*\} [1-9]/m,
    )
  })

  it('closes on SIGTERM: the sinks, then the processor, both ports closed, exit 0', async () => {
    const run = cli as RunningCli
    run.child.kill('SIGTERM')
    await vi.waitFor(() => expect(run.output).toContain('"msg":"processor stopped"'), {
      timeout: 20_000,
      interval: 200,
    })
    const output = run.output
    expect(output.indexOf('"msg":"sinks stopped"')).toBeGreaterThan(0)
    expect(output.indexOf('"msg":"sinks stopped"')).toBeLessThan(output.indexOf('"msg":"processor stopped"'))
    await vi.waitFor(
      async () => {
        await expect(get(apiPort, '/health')).rejects.toThrow()
        await expect(get(metricsPort, '/health')).rejects.toThrow()
      },
      { timeout: 5000, interval: 200 },
    )
    // Nothing left keeps the process alive (a Kubernetes pod gets 30 s after SIGTERM by default).
    const code = await run.exitWithin(10_000, 'SIGTERM')
    expect(code, run.output.slice(-2000)).toBe(0)
    expect(run.output).not.toMatch(/agent-party:|"level":(50|60)/)
  }, 40_000)
})

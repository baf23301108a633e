// The one-command demo (`agent-party demo`, `npm run demo`): the local stack up (or the one already
// up), provisioned, the pipeline running, sample traffic produced and applied, then example queries a
// new user can paste. The steps live here; cli/commands/demo.ts hands in what only the CLI may import
// (starting the roles in one process, minting a token) and prints. What the demo started it stops:
// the pipeline always, the stack's services only those that were not running before it.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { type Config, type Environment, loadConfig } from '../config/config.js'
import { resolveStackDir } from '../deploy/local/layout.js'
import { type ServiceName, stackDown, stackStatus, stackUp } from '../deploy/local/stack.js'
import { createAdmin } from '../kafka/clients.js'
import { GroupLagReader } from '../kafka/group-lag.js'
import { listOffsetsWithAdmin, partitionKey } from '../kafka/partition-fetcher.js'
import { topicPartitions } from '../kafka/topics.js'
import { loadProcessorConfig, type ProcessorConfig } from '../processors/config.js'
import { kafkaSink } from '../schemas/generator/kafka-sink.js'
import {
  EVENT_FAMILIES,
  type EventFamily,
  type OutgoingRecord,
  type ProduceProgress,
  payloadName,
  payloadOf,
  produceEvents,
  type RecordSink,
  RegistryClient,
} from '../schemas/index.js'
import { createNeo4jDriver } from '../sinks/neo4j/driver.js'
import { redisConnectionOptions } from '../sinks/redis/target.js'
import { createS3Client } from '../sinks/s3/client.js'
import { prepareProduceTargets } from './produce.js'
import { type ProvisionReport, provision } from './provision.js'

/** A step of the demo that cannot go on, with what to do about it; printed without a stack trace. */
export class DemoError extends Error {
  readonly code = 'DEMO_FAILED'
  constructor(message: string) {
    super(message)
    this.name = 'DemoError'
  }
}

/** Ctrl-C (or SIGTERM) while the demo was starting; what it had started is stopped again. */
export class DemoAbortedError extends Error {
  readonly code = 'DEMO_ABORTED'
  constructor() {
    super('stopped before the demo was ready')
    this.name = 'DemoAbortedError'
  }
}

/** What the CLI starts in this process (`startAll`): processor, sinks and API. */
export interface DemoPipeline {
  readonly apiPort: number
  /** The processor's and sinks' /metrics, /ready, /health. */
  readonly metricsPort: number
  /** Rejects with a role's fatal error. */
  readonly failed: Promise<never>
  close(): Promise<void>
}

export interface DemoHooks {
  startPipeline(config: Config): Promise<DemoPipeline>
  /** A bearer token of the viewer role, signed with the configured key, valid `ttlSeconds`. */
  issueToken(config: Config, ttlSeconds: number): Promise<string>
}

export interface DemoOptions {
  /** Bring the local stack up (default); false: use the configured services as they are. */
  readonly stack: boolean
  readonly events: number
  /** Events per second, of event time and of writing. */
  readonly rate: number
  readonly seed: number | string
  /** How long to wait for the pipeline to apply the traffic before going on with a warning. */
  readonly waitTimeoutMs?: number
  /** The environment over which the stack's settings go (default process.env). */
  readonly env?: Environment
  readonly signal?: AbortSignal
  /** Human progress lines, one per call. */
  readonly log: (line: string) => void
  readonly onProgress?: (progress: ProduceProgress) => void
}

export interface DemoExample {
  readonly title: string
  /** Absolute URL, query string encoded. */
  readonly url: string
}

export interface RunningDemo {
  /** `started`: the demo started these services and stops them; `already-up`; `not-used`: --no-stack. */
  readonly stack: { readonly mode: 'started' | 'already-up' | 'not-used'; readonly started: ServiceName[] }
  readonly stackDir: string | undefined
  readonly provision: ProvisionReport
  readonly apiUrl: string
  readonly metricsUrl: string
  readonly token: string
  readonly tokenTtlSeconds: number
  readonly written: number
  /** Whether everything produced was applied within the wait; false: a warning was logged. */
  readonly applied: boolean
  readonly examples: readonly DemoExample[]
  readonly sinks: readonly string[]
  readonly failed: Promise<never>
  /** The pipeline, then the stack services the demo started. */
  close(): Promise<void>
}

const TOKEN_TTL_SECONDS = 24 * 3600
/** The sinks the example queries read; the archive uploads by size or idle time and is not waited for. */
const QUERIED_SINKS = ['neo4j', 'redis'] as const

export async function runDemo(options: DemoOptions, hooks: DemoHooks): Promise<RunningDemo> {
  const base = options.env ?? process.env
  const { log, signal } = options
  const closers: (() => Promise<void>)[] = []
  const closeAll = async () => {
    let failure: unknown
    for (const close of closers.reverse())
      await close().catch((error: unknown) => {
        failure ??= error
      })
    closers.length = 0
    if (failure !== undefined) throw failure
  }
  const checkAbort = () => {
    if (signal?.aborted) throw new DemoAbortedError()
  }
  try {
    const stack = options.stack ? await bringStackUp(log) : undefined
    if (stack && stack.started.length > 0) closers.push(() => stopStarted(stack.started, log))
    checkAbort()
    const stackDir = resolveStackDir()
    const env = demoEnvironment(base, stack?.env ?? {}, stackDir)
    const config = loadConfig(env)
    const topology = loadProcessorConfig(config.processor.configFile)
    await assertPortsFree(config)
    await checkServices(config, options.stack)
    checkAbort()

    log('provisioning: topics, schemas, graph schema, archive bucket')
    const report = await provision(config)
    const baseTime = Date.now()
    await prepareProduceTargets(config, {
      topics: topology.inputTopics,
      oldestEventTime: baseTime,
      createTopics: true,
    })
    checkAbort()

    log(`starting the processor, the sinks (${config.sinks.enabled.join(', ')}) and the API`)
    const pipeline = await hooks.startPipeline(config).catch((error: unknown) => {
      throw portProblem(error, config) ?? error
    })
    closers.push(() => pipeline.close())
    const apiUrl = `http://${displayHost(config.api.host)}:${pipeline.apiPort}`
    const metricsUrl = `http://localhost:${pipeline.metricsPort}`
    const token = await hooks.issueToken(config, TOKEN_TTL_SECONDS)
    checkAbort()

    log(`producing ${options.events} events at ${options.rate}/s (seed ${options.seed})`)
    const sample = new TrafficSample(topology)
    const produced = await produceEvents(
      {
        target: { kind: 'sink', sink: sample.observe(kafkaSink(config.kafka, 'demo-generator')) },
        encoding: config.schemas.encoding,
        registryUrl: config.schemaRegistry.url,
        topics: topology.inputTopics,
        count: options.events,
        rate: options.rate,
        seed: options.seed,
        baseTime,
        ...(signal ? { signal } : {}),
      },
      options.onProgress,
    )
    checkAbort()

    const sinks = config.sinks.enabled.filter((s) => (QUERIED_SINKS as readonly string[]).includes(s))
    const examples = demoExamples(sample, apiUrl, sinks.includes('neo4j'))
    log('waiting until the processor and the sinks have applied every event')
    const started = Date.now()
    const problem = await waitUntilApplied({
      config,
      topology,
      sinkGroups: sinks.map((s) => `${config.sinks.groupPrefix}-${s}`),
      examples,
      token,
      timeoutMs: options.waitTimeoutMs ?? 120_000,
      failed: pipeline.failed,
      ...(signal ? { signal } : {}),
    })
    checkAbort()
    if (problem === undefined) log(`applied in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    else log(`warning: not everything was applied within the wait (${problem}); the queries may answer less`)
    return {
      stack: {
        mode: stack === undefined ? 'not-used' : stack.started.length > 0 ? 'started' : 'already-up',
        started: stack?.started ?? [],
      },
      stackDir: stack === undefined ? undefined : stackDir,
      provision: report,
      apiUrl,
      metricsUrl,
      token,
      tokenTtlSeconds: TOKEN_TTL_SECONDS,
      written: produced.written,
      applied: problem === undefined,
      examples,
      sinks: config.sinks.enabled,
      failed: pipeline.failed,
      close: closeAll,
    }
  } catch (error) {
    await closeAll().catch(() => {})
    throw error
  }
}

/** Starts the local stack's services that are not running; says which it started. */
async function bringStackUp(log: (line: string) => void) {
  const before = await stackStatus()
  const running = new Set(before.filter((s) => s.running).map((s) => s.name))
  log(
    running.size === before.length
      ? 'local stack: already up, using it'
      : 'local stack: starting it (the first start downloads the services and takes minutes)',
  )
  const startedNow = async () =>
    (await stackStatus()).filter((s) => s.running && !running.has(s.name)).map((s) => s.name)
  try {
    const env = await stackUp({ log: (line) => log(`  ${line}`) })
    return { env, started: await startedNow() }
  } catch (error) {
    // A half-started stack: stop what this run started, keep what ran before.
    const started = await startedNow().catch(() => [])
    if (started.length > 0) await stopStarted(started, log).catch(() => {})
    throw error
  }
}

async function stopStarted(services: ServiceName[], log: (line: string) => void): Promise<void> {
  log(`stopping the stack services the demo started: ${services.join(', ')}`)
  await stackDown({ services, log: (line) => log(`  ${line}`) })
}

/**
 * The demo's environment: the stack's addresses over the shell's (as `stack up` provisions), quieter
 * logs unless asked for, and an HS256 key when none is configured: the demo's own, generated once and
 * kept in the stack folder (mode 0600), never a fixed one.
 */
export function demoEnvironment(base: Environment, stackEnv: Environment, stackDir: string): Environment {
  const env: Environment = { ...base, ...stackEnv }
  if (!env.LOG_LEVEL) {
    env.LOG_LEVEL = 'warn'
    // The API warns that POST /token issues nothing without a user store: the demo mints its token.
    env.LOG_LEVELS ||= 'api=error'
  }
  if (!env.API_JWT_SECRET) env.API_JWT_SECRET = demoSecret(stackDir)
  return env
}

/** <stack dir>/demo/jwt-secret, created with 48 random bytes on first use. */
export function demoSecret(stackDir: string): string {
  const dir = join(stackDir, 'demo')
  const file = join(dir, 'jwt-secret')
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim()
    if (secret.length >= 32) return secret
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const secret = randomBytes(48).toString('base64url')
  writeFileSync(file, `${secret}\n`, { mode: 0o600 })
  return secret
}

/** Fails before anything starts when API_PORT or METRICS_PORT is taken, naming the variable. */
export async function assertPortsFree(config: Config): Promise<void> {
  const ports: [string, number, string][] = [
    ['API_PORT', config.api.port, config.api.host],
    ['METRICS_PORT', config.streams.metricsPort, '0.0.0.0'],
  ]
  for (const [variable, port, host] of ports) {
    if (port === 0) continue
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(false))
      server.listen(port, host, () => server.close(() => resolve(true)))
    })
    if (!free)
      throw new DemoError(
        `port ${port} (${variable}) is in use: stop the process that holds it, or set ${variable} to another port (0: any free port)`,
      )
  }
}

function portProblem(error: unknown, config: Config): DemoError | undefined {
  if ((error as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') return undefined
  return new DemoError(
    `port ${config.streams.metricsPort} (METRICS_PORT) is in use: stop the process that holds it, or set METRICS_PORT to another port`,
  )
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost'
  return host.includes(':') ? `[${host}]` : host
}

/** Asks each service once (5 s each, at once); one message lists every one that does not answer. */
export async function checkServices(config: Config, stack: boolean): Promise<void> {
  const within = <T>(work: Promise<T>) =>
    Promise.race([
      work,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref(),
      ),
    ])
  const checks: [string, () => Promise<unknown>][] = [
    [
      `Kafka at ${config.kafka.bootstrapServers.join(',')}`,
      async () => {
        const admin = createAdmin(config.kafka, 'demo-check')
        try {
          await within(admin.metadata({ topics: [] }))
        } finally {
          void admin.close().catch(() => {})
        }
      },
    ],
    [
      `Neo4j at ${config.neo4j.uri}`,
      async () => {
        const driver = createNeo4jDriver(config.neo4j, { connectionTimeout: 3000 })
        try {
          await within(driver.verifyConnectivity({ database: config.neo4j.database }))
        } finally {
          await driver.close().catch(() => {})
        }
      },
    ],
    [
      `Redis at ${redisAddress(config.redis.url)}`,
      async () => {
        const redis = new Redis(config.redis.url, {
          ...redisConnectionOptions(config.redis),
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          connectTimeout: 3000,
          retryStrategy: () => null,
        })
        let last: unknown
        redis.on('error', (error) => {
          last = error
        })
        try {
          await within(redis.connect().then(() => redis.ping())).catch((error: unknown) => {
            throw last ?? error
          })
        } finally {
          redis.disconnect()
        }
      },
    ],
    [`S3 at ${config.s3.endpoint}`, () => within(createS3Client(config.s3).listBuckets())],
  ]
  if (config.schemas.encoding === 'registry')
    checks.push([
      `the Schema Registry at ${config.schemaRegistry.url}`,
      async () => {
        await new RegistryClient({ ...config.schemaRegistry, timeoutMs: 5000, retries: 0 }).subjects()
      },
    ])
  const results = await Promise.allSettled(checks.map(([, check]) => check()))
  const down = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`  - ${checks[i]?.[0]} does not answer (${reason(r.reason)})`] : [],
  )
  if (down.length === 0) return
  throw new DemoError(
    `${down.length === 1 ? 'a service is' : 'services are'} not reachable:\n${down.join('\n')}\n` +
      (stack
        ? 'The local stack did not come up as expected: see `agent-party stack status` and `agent-party stack logs <service>`.'
        : 'Start them (the local stack: `npm run stack -- up`), or run the demo without --no-stack to start the local stack.'),
  )
}

/** The first line of the innermost cause: `connect ECONNREFUSED ...` rather than `failed 4 times`. */
function reason(error: unknown): string {
  const err = error as { message?: string; code?: string; errors?: unknown[]; cause?: unknown }
  const inner = Array.isArray(err?.errors) && err.errors.length > 0 ? err.errors.at(-1) : err?.cause
  if (inner !== undefined && inner !== null && inner !== error) return reason(inner)
  const text = err?.message || err?.code || String(error)
  // Neo4j's driver puts its advice first and the cause last.
  const caused = text.lastIndexOf('Caused by: ')
  return (caused >= 0 ? text.slice(caused + 'Caused by: '.length) : text).split('\n')[0] as string
}

function redisAddress(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || 6379}`
  } catch {
    return 'REDIS_URL'
  }
}

interface SampledAgent {
  template: string
  version: number
  status: string
}

/** What the produced traffic holds, for example queries that answer with data. */
export class TrafficSample {
  readonly agents = new Map<string, SampledAgent>()
  readonly formedTeams: string[] = []
  readonly #families: Map<string, EventFamily>

  constructor(topology: ProcessorConfig) {
    this.#families = new Map(EVENT_FAMILIES.map((f) => [topology.inputTopics[f], f]))
  }

  /** `sink` that also looks at each record written. */
  observe(sink: RecordSink): RecordSink {
    return {
      write: async (batch) => {
        await sink.write(batch)
        for (const record of batch) this.#see(record)
      },
      close: () => sink.close(),
    }
  }

  #see(record: OutgoingRecord): void {
    const family = this.#families.get(record.topic)
    const envelope = (record.event as { payload?: object } | undefined)?.payload
    if (envelope === undefined) return
    const name = payloadName(envelope)
    const payload = payloadOf<Record<string, unknown>>(envelope)
    const key = record.key.toString('utf8')
    if (family === 'agent_events') {
      if (name === 'AgentCreated')
        this.agents.set(key, {
          template: String(payload.template_id),
          version: Number(payload.version),
          status: 'IDLE',
        })
      const agent = this.agents.get(key)
      if (agent === undefined || agent.status === 'TERMINATED') return
      if (name === 'AgentStatusChanged') agent.status = String(payload.status)
      if (name === 'AgentTerminated') agent.status = 'TERMINATED'
    } else if (family === 'team_events' && name === 'TeamFormed' && !this.formedTeams.includes(key)) {
      this.formedTeams.push(key)
    }
  }

  /** An agent online at the end (else one not terminated, else any), with its template and status. */
  agent(): [string, SampledAgent] | undefined {
    const all = [...this.agents]
    return (
      all.find(([, a]) => a.status !== 'TERMINATED' && a.status !== 'OFFLINE') ??
      all.find(([, a]) => a.status !== 'TERMINATED') ??
      all[0]
    )
  }
}

/** Up to four queries: an agent by id, agents by its status, a team, a window of its template. */
export function demoExamples(sample: TrafficSample, apiUrl: string, graph: boolean): DemoExample[] {
  const out: DemoExample[] = []
  const agent = sample.agent()
  if (agent !== undefined) {
    const [id, { template, version, status }] = agent
    out.push({ title: 'an agent of the sample traffic', url: `${apiUrl}/agents/${encodeURIComponent(id)}` })
    out.push({
      title: `agents whose status is ${status}`,
      url: `${apiUrl}/agents?status=${encodeURIComponent(status)}&limit=5`,
    })
    const team = sample.formedTeams[0]
    if (team !== undefined)
      out.push(
        graph
          ? {
              title: 'a team with its members and tasks (Neo4j)',
              url: `${apiUrl}/graph/teams/${encodeURIComponent(team)}`,
            }
          : { title: 'a team', url: `${apiUrl}/teams/${encodeURIComponent(team)}` },
      )
    out.push({
      title: `agents instantiated per minute from template ${template}@${version} (a window output)`,
      url: `${apiUrl}/windows/agent_instantiations?group=${encodeURIComponent(`${template}@${version}`)}`,
    })
  }
  return out
}

/** Whether an example's answer holds data: a 200 with a non-empty list where it is a list. */
export function answerHoldsData(status: number, body: unknown): boolean {
  if (status !== 200 || typeof body !== 'object' || body === null) return false
  const value = body as { items?: unknown[]; windows?: unknown[]; members?: unknown[] }
  if (Array.isArray(value.items)) return value.items.length > 0
  if (Array.isArray(value.windows)) return value.windows.length > 0
  if (Array.isArray(value.members)) return value.members.length > 0
  return true
}

interface WaitOptions {
  config: Config
  topology: ProcessorConfig
  sinkGroups: string[]
  examples: readonly DemoExample[]
  token: string
  timeoutMs: number
  failed: Promise<never>
  signal?: AbortSignal
}

/**
 * Until the processor's group has committed past everything produced (its repartition topics
 * included), the queried sinks' groups have no lag, and every example answers with data. Returns
 * undefined then, or what was still missing at the timeout.
 */
async function waitUntilApplied(options: WaitOptions): Promise<string | undefined> {
  const { config, topology } = options
  const admin = createAdmin(config.kafka, 'demo-wait')
  const reader = new GroupLagReader(config.kafka, { clientIdSuffix: 'demo-lag' })
  let failure: unknown
  options.failed.catch((error: unknown) => {
    failure = error
  })
  try {
    const topics = Object.values(topology.inputTopics)
    const partitions = await topicPartitions(admin, topics)
    const ends = await listOffsetsWithAdmin(admin, partitions, 'latest')
    const deadline = Date.now() + options.timeoutMs
    let missing = 'nothing checked yet'
    for (;;) {
      if (failure !== undefined) throw failure
      if (options.signal?.aborted) return 'stopped'
      missing = await whatIsMissing(options, reader, ends).catch((error: unknown) => reason(error))
      if (missing === '') return undefined
      if (Date.now() > deadline) return missing
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  } finally {
    await Promise.allSettled([admin.close(), reader.close()])
  }
}

async function whatIsMissing(
  options: WaitOptions,
  reader: GroupLagReader,
  inputEnds: ReadonlyMap<string, number>,
): Promise<string> {
  const { topology, sinkGroups } = options
  const readout = await reader.read([topology.applicationId, ...sinkGroups])
  const of = (group: string) => readout.lags.filter((l) => l.group === group)
  const processor = of(topology.applicationId)
  const committed = new Map(processor.map((l) => [partitionKey(l.topic, l.partition), l.committed]))
  const behind = [...inputEnds].filter(([key, end]) => end > 0 && (committed.get(key) ?? 0) < end)
  if (behind.length > 0 || processor.some((l) => l.lag > 0))
    return `the processor (${topology.applicationId}) has not caught up`
  for (const group of sinkGroups) {
    const lags = of(group)
    if (lags.length === 0 || lags.some((l) => l.lag > 0)) return `the sink group ${group} has lag`
  }
  for (const example of options.examples) {
    const response = await fetch(example.url, {
      headers: { authorization: `Bearer ${options.token}` },
      signal: AbortSignal.timeout(5000),
    })
    const body = await response.json().catch(() => undefined)
    if (!answerHoldsData(response.status, body)) return `${example.url} answers no data yet`
  }
  return ''
}

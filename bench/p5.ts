// P5: the whole pipeline end to end (issue 10, "Benchmark"): events in through `POST /events` of a
// running API (or, for rates one API process cannot post, a producer), through the processor
// (exactly-once) and the Neo4j and Redis sinks, to visible in each store; then the read endpoints'
// latency under load with autocannon on loopback, against the same API with the run's data in it.
//
//   npm run bench:p5                               5k events/s for 60 s from a producer, then the reads
//   npm run bench:p5 -- --rate 1000 --seconds 60   another rate or length
//   npm run bench:p5 -- --via api --rate 1000      events posted to POST /events (one API process takes
//                                                  ~500-600/s beside the pipeline: a poster's backlog grows)
//                                                  instead of produced (the idempotent producer, one send
//                                                  per generator batch of 20 ms)
//   npm run bench:p5 -- --lanes 64                 POST /events connections of the poster (default 64)
//   npm run bench:p5 -- --warmup 30                seconds left out at the start (default 1/6, at most 10)
//   npm run bench:p5 -- --connections 20 --read-seconds 15
//                                                  the read phase's autocannon settings (the defaults)
//   npm run bench:p5 -- --read-rate 200            reads offered at a fixed rate (autocannon overallRate)
//                                                  instead of as fast as the API answers
//   npm run bench:p5 -- --skip-reads               the end-to-end part only
//   npm run bench:p5 -- --reads-only               the reads after a short load (30 s at 1k/s, produced)
//   npm run bench:p5 -- --cpu-prof api             that child (processor, sinks or api) writes a CPU
//                                                  profile to /tmp/p5-prof when it stops
//   npm run bench:p5 -- --clean                    what an interrupted run left (bench.p5.* topics, groups,
//                                                  subjects, bench-p5-* keys, its SinkOffset nodes; not
//                                                  its Agent, Team and Task nodes, whose ids it does not know)
//
// Three child processes (this file with --child <role>), each as `agent-party run <role>` runs it, so
// that each has its own event loop and CPU as in a deployment: the processor (startProcessor,
// exactly_once), the sinks (startSinks, neo4j + redis) and the API (startApi). All on this run's own
// names: event and output topics `bench.p5.<run>.*`, application id, sink groups, Redis key prefix;
// the generator's ids (UUIDs of a per-run seed) keep its graph nodes apart, and clean-up deletes them.
//
// Visible: the marker is each agent event's event_id, which the agent snapshot carries as
// last_event_id into the Redis entity hash (read through the read model's key layout) and onto the
// Neo4j Agent node. A poller per store reads the last_event_id of every agent with events not yet seen
// (Redis every 20 ms, Neo4j every 50 ms, READ mode); when a store shows an agent's n-th event, that
// event and the agent's earlier ones are visible there (the snapshot folds them in; a later event of
// the same agent in the same sink batch supersedes an earlier one's id). Latency = the poll's time -
// the post time (request sent, or the producer's send call). Every agent event is a sample (no
// sampling), the first 1/6 of the run (at most 10 s) is left out as warm-up, the poll interval adds
// half itself on average. The processor's part alone: the same marker in the agents output topic,
// read read_committed (the snapshot committed by its transaction). While events flow, every 5 s: the pipeline's consumer lag per stage, read
// from the API's own /metrics (kafka_consumergroup_lag, LAG_POLL_MS=1000): the processor on its input
// topics and on its repartition topics, each sink on the output topics.
// The generator runs without duplicates, disorder or late events: a duplicate or a late event is
// never named by a snapshot, so it would only add samples that resolve through a later event.
//
// Reads: autocannon (programmatic) with N connections for D seconds per endpoint, one endpoint at a
// time, each request's path taken in turn from a list of real ids/groups of the run, a viewer token;
// requests/s, and p50/p95/p99 from every response time (autocannon's own summary has no p95). The
// API's rate limit is off (API_RATE_LIMIT_PER_MINUTE=0), as a benchmark client is one user. Last, the
// ingest's own capacity: POST /events of one small event, the same way.
// Prints the machine and its load; the last line is `key=value` pairs for a script.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import neo4j from 'neo4j-driver'
import { addUser } from '../api/auth/users.js'
import { startApi } from '../api/run-api.js'
import { createRootLogger } from '../config/logger.js'
import { createAdmin, createConsumer, createProducer } from '../kafka/clients.js'
import { PartitionFetcher, type PartitionPosition, partitionKey } from '../kafka/partition-fetcher.js'
import { ensureTopics } from '../kafka/topics.js'
import { prefixedTopics, prepareProduceTargets } from '../ops/produce.js'
import { loadProcessorConfig, resolveProcessorConfig } from '../processors/config.js'
import { OUTPUT_NAMES, type OutputName, outputSubjects, outputTopicSpecs } from '../processors/outputs.js'
import { startProcessor } from '../processors/run-processor.js'
import { createProcessorSerdes } from '../processors/serdes.js'
import type { OutgoingRecord, RecordSink } from '../schemas/generator/record-sink.js'
import {
  type EventFamily,
  payloadName,
  payloadOf,
  produceEvents,
  RegistryClient,
  registerSchemas,
  registrySchemaLookup,
} from '../schemas/index.js'
import { createNeo4jDriver } from '../sinks/neo4j/driver.js'
import { RedisKeys } from '../sinks/redis/keys.js'
import { startSinks } from '../sinks/run-sinks.js'
import { config, flag, log, machineLoad, option } from './kafka-workload.js'

const SELF = fileURLToPath(import.meta.url)
const PASSWORD = 'bench-p5-password'
const SECRET = 'bench-p5-secret-0123456789abcdef0123456789abcdef'
const REDIS_POLL_MS = 20
const NEO4J_POLL_MS = 50

// ---- names ------------------------------------------------------------------------------------------

interface RunNames {
  readonly run: string
  readonly applicationId: string
  readonly inputs: Record<EventFamily, string>
  readonly outputs: Record<OutputName, string>
  readonly sinkGroupPrefix: string
  readonly redisPrefix: string
}

function runNames(id: string): RunNames {
  const run = `bench.p5.${id}`
  return {
    run,
    applicationId: `${run}.app`,
    inputs: prefixedTopics(`${run}.in.`),
    outputs: Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${run}.out.${n}`])) as Record<
      OutputName,
      string
    >,
    sinkGroupPrefix: `${run}.sink`,
    redisPrefix: `bench-p5-${id}:`,
  }
}

// ---- the children: processor, sinks, api -------------------------------------------------------------

type Role = 'processor' | 'sinks' | 'api'

/** Runs one role as `agent-party run <role>` does (its config from the environment the parent set). */
async function runChild(role: Role): Promise<void> {
  const say = (line: string) => process.stdout.write(`p5 ${line}\n`)
  const logger = createRootLogger({ ...config.log, level: 'warn' })
  let close: () => Promise<void>
  if (role === 'processor') {
    const running = await startProcessor(config, { metricsPort: 0, logger })
    const streams = running.streams
    streams.on('state', (state: string) => say(`state ${state}`))
    if (streams.state === 'RUNNING') say('state RUNNING')
    close = () => running.close()
    say(`ready ${JSON.stringify({ port: running.port })}`)
  } else if (role === 'sinks') {
    const running = await startSinks(config, { metricsPort: 0, logger })
    running.done.catch((error) => say(`failed ${String(error)}`))
    close = () => running.close()
    say(`ready ${JSON.stringify({ port: running.port })}`)
  } else {
    const processor = loadProcessorConfig(config.processor.configFile)
    const running = await startApi(config, { logger, eventTopics: processor.inputTopics })
    close = () => running.close()
    say(`ready ${JSON.stringify({ port: running.port })}`)
  }
  process.on('SIGTERM', () => {
    close()
      .catch(() => {})
      .finally(() => process.exit(0))
  })
}

class Child {
  readonly child: ChildProcess
  readonly lines: string[] = []
  readonly exited: Promise<unknown>

  constructor(
    readonly role: Role,
    env: Record<string, string>,
  ) {
    // --cpu-prof <role>: that child writes a CPU profile to /tmp/p5-prof when it exits.
    const profile =
      option('cpu-prof', 'BENCH_P5_CPU_PROF') === role ? ['--cpu-prof', '--cpu-prof-dir=/tmp/p5-prof'] : []
    this.child = spawn(process.execPath, [...profile, '--import', 'tsx', SELF, '--child', role], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let buffer = ''
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      const parts = buffer.split('\n')
      buffer = parts.pop() ?? ''
      for (const line of parts) {
        if (line.startsWith('p5 ')) this.lines.push(line)
        // Warnings and errors of the child's loggers (JSON lines): shown, shortened.
        else if (line.trim() !== '') log(`  [${role}] ${line.slice(0, 300)}`)
      }
    })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim() !== '') log(`  [${role}] ${line.slice(0, 300)}`)
    })
    this.exited = once(this.child, 'exit')
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  async waitFor(prefix: string, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const line = this.lines.find((l) => l.startsWith(`p5 ${prefix}`))
      if (line !== undefined) return line.slice(`p5 ${prefix}`.length).trim()
      if (!this.running) throw new Error(`the ${this.role} child exited before '${prefix}'`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for the ${this.role} child's '${prefix}'`)
      await sleep(20)
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.child.kill('SIGTERM')
    await Promise.race([this.exited, sleep(20_000)])
    if (this.running) this.child.kill('SIGKILL')
  }
}

// ---- HTTP -------------------------------------------------------------------------------------------

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512 })

function request(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: httpAgent }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        text += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body !== undefined) req.end(body)
    else req.end()
  })
}

async function token(port: number, username: string): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'password', username, password: PASSWORD }).toString()
  const res = await request(
    port,
    'POST',
    '/token',
    { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  )
  if (res.status !== 200) throw new Error(`POST /token as ${username}: ${res.status} ${res.text}`)
  return (JSON.parse(res.text) as { access_token: string }).access_token
}

/** A generated envelope as a client posts it (the ingest tests' flat body): `type` beside the fields. */
function flatBody(event: { payload: object }): string {
  const { payload, ...envelope } = event
  return JSON.stringify({ type: payloadName(payload), ...envelope, ...(payloadOf(payload) as object) })
}

// ---- quantiles --------------------------------------------------------------------------------------

interface Quantiles {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

function quantiles(values: number[]): Quantiles | undefined {
  if (values.length === 0) return undefined
  const sorted = Float64Array.from(values).sort()
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number
  const r = (v: number) => Math.round(v * 10) / 10
  return { count: sorted.length, p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(at(1)) }
}

const describe = (q: Quantiles | undefined, unit = 'ms') =>
  q === undefined
    ? 'no samples'
    : `p50 ${q.p50}, p95 ${q.p95}, p99 ${q.p99}, max ${q.max} ${unit} (n=${q.count})`

// ---- visibility -------------------------------------------------------------------------------------

/** The agent events sent so far: event id -> (agent, its n-th event); per store, those not yet seen. */
class Markers {
  readonly #byEvent = new Map<string, { agent: string; seq: number }>()
  readonly #nextSeq = new Map<string, number>()
  readonly stores: Visibility[] = [new Visibility('redis'), new Visibility('neo4j'), new Visibility('kafka')]
  measureFrom = Number.POSITIVE_INFINITY

  /** An agent event, at the time it is sent; an agent's events must be sent in their log order. */
  sent(agent: string, eventId: string, at: number): void {
    const seq = this.#nextSeq.get(agent) ?? 0
    this.#nextSeq.set(agent, seq + 1)
    this.#byEvent.set(eventId, { agent, seq })
    for (const store of this.stores) store.add(agent, { seq, sentAt: at, measured: at >= this.measureFrom })
  }

  lookup(eventId: string): { agent: string; seq: number } | undefined {
    return this.#byEvent.get(eventId)
  }

  get agents(): string[] {
    return [...this.#nextSeq.keys()]
  }
}

interface Sample {
  seq: number
  sentAt: number
  measured: boolean
}

class Visibility {
  readonly pending = new Map<string, Sample[]>()
  readonly latencies: number[] = []
  seen = 0

  constructor(readonly store: string) {}

  add(agent: string, sample: Sample): void {
    let list = this.pending.get(agent)
    if (list === undefined) {
      list = []
      this.pending.set(agent, list)
    }
    list.push(sample)
  }

  /** The store shows the agent's `seq`-th event at `now`: it and the agent's earlier ones are visible. */
  visible(agent: string, seq: number, now: number): void {
    const list = this.pending.get(agent)
    if (list === undefined) return
    let n = 0
    while (n < list.length && (list[n] as Sample).seq <= seq) {
      const s = list[n] as Sample
      if (s.measured) this.latencies.push(now - s.sentAt)
      n++
    }
    this.seen += n
    if (n === list.length) this.pending.delete(agent)
    else list.splice(0, n)
  }

  get waiting(): number {
    let n = 0
    for (const list of this.pending.values()) n += list.length
    return n
  }
}

/** Polls a store for the last_event_id of every agent with events not yet seen there. */
function poller(
  markers: Markers,
  visibility: Visibility,
  intervalMs: number,
  read: (agents: string[]) => Promise<Map<string, string>>,
): { stop(): Promise<void> } {
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now()
      const agents = [...visibility.pending.keys()]
      if (agents.length > 0) {
        try {
          const ids = await read(agents)
          const now = performance.now()
          for (const [agent, eventId] of ids) {
            const marker = markers.lookup(eventId)
            if (marker !== undefined && marker.agent === agent) visibility.visible(agent, marker.seq, now)
          }
        } catch (error) {
          log(`  ${visibility.store} poll failed: ${String(error)}`)
        }
      }
      await sleep(Math.max(1, intervalMs - (performance.now() - started)))
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
    },
  }
}

/**
 * Reads the agents output topic read_committed: an agent's snapshot there makes its event (and the
 * agent's earlier ones) committed by the processor, the first stage of the latency.
 */
function committedReader(
  names: RunNames,
  markers: Markers,
  visibility: Visibility,
): { stop(): Promise<void> } {
  let stopped = false
  const topic = names.outputs.agents
  const loop = (async () => {
    const serdes = await createProcessorSerdes(
      resolveProcessorConfig({
        applicationId: names.applicationId,
        inputTopics: names.inputs,
        outputTopics: names.outputs,
      }),
      {
        encoding: 'registry',
        lookup: registrySchemaLookup(new RegistryClient({ url: config.schemaRegistry.url })),
      },
    )
    const serde = serdes.output<{ agent_id: string; last_event_id: string }>('agents')
    const consumer = createConsumer(config.kafka, `${names.run}.reader`)
    try {
      const fetcher = new PartitionFetcher(consumer, { isolation: 'read_committed', maxWaitMs: 20 })
      const partitions = outputTopicSpecs(names.outputs).find((t) => t.name === topic)?.partitions ?? 8
      const positions = new Map<string, PartitionPosition>(
        Array.from({ length: partitions }, (_, partition) => [
          partitionKey(topic, partition),
          { topic, partition, offset: 0 },
        ]),
      )
      while (!stopped) {
        const fetched = await fetcher.fetch([...positions.values()])
        const now = performance.now()
        for (const batch of fetched) {
          const values = batch.records.flatMap((r) => (r.value ? [r.value as Buffer] : []))
          await serde.prepare?.(topic, values)
          for (const value of values) {
            const snapshot = serde.deserialize(topic, value)
            const marker = markers.lookup(snapshot.last_event_id)
            if (marker !== undefined && marker.agent === snapshot.agent_id)
              visibility.visible(marker.agent, marker.seq, now)
          }
          positions.set(partitionKey(batch.topic, batch.partition), {
            topic: batch.topic,
            partition: batch.partition,
            offset: batch.nextOffset,
          })
        }
      }
    } finally {
      await consumer.close(true)
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop.catch((error) => log(`  the output reader failed: ${String(error)}`))
    },
  }
}

// ---- lag per stage, from the API's /metrics ------------------------------------------------------------

async function lagLine(apiPort: number, names: RunNames): Promise<string> {
  const res = await request(apiPort, 'GET', '/metrics', {})
  const inputs = new Set(Object.values(names.inputs))
  const sums = new Map<string, number>()
  const add = (k: string, v: number) => sums.set(k, (sums.get(k) ?? 0) + v)
  for (const line of res.text.split('\n')) {
    const m = /^kafka_consumergroup_lag\{([^}]*)\} (\S+)$/.exec(line)
    if (m === null) continue
    const labels = Object.fromEntries(
      [...(m[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    )
    const value = Number(m[2])
    const group = labels.consumergroup as string
    const topic = labels.topic as string
    if (group === names.applicationId)
      add(inputs.has(topic) ? 'processor(input)' : 'processor(repartition)', value)
    else if (group.startsWith(names.sinkGroupPrefix))
      add(group.slice(names.sinkGroupPrefix.length + 1), value)
  }
  const order = ['processor(input)', 'processor(repartition)', 'neo4j', 'redis']
  return order.map((k) => `${k} ${sums.get(k) ?? '-'}`).join(', ')
}

// ---- part 1: end to end -------------------------------------------------------------------------------

interface Seen {
  /** Agent ids, team ids, capability names the run wrote (for the reads and the clean-up). */
  agents: Set<string>
  teams: Set<string>
  tasks: Set<string>
  capabilities: Map<string, number>
}

async function endToEnd(
  names: RunNames,
  api: { port: number; operator: string },
  rate: number,
  seconds: number,
  via: 'api' | 'producer',
  lanes: number,
  seen: Seen,
): Promise<Record<string, number>> {
  const given = option('warmup', 'BENCH_P5_WARMUP')
  const warmupMs = given === undefined ? Math.min(10_000, (seconds * 1000) / 6) : Number(given) * 1000
  const markers = new Markers()
  const keys = new RedisKeys(names.redisPrefix)
  const redis = new Redis(config.redis.url)
  const driver = createNeo4jDriver(config.neo4j)
  const [redisSeen, neo4jSeen, kafkaSeen] = markers.stores as [Visibility, Visibility, Visibility]
  const committed = committedReader(names, markers, kafkaSeen)
  const pollers = [
    poller(markers, redisSeen, REDIS_POLL_MS, async (agents) => {
      const pipeline = redis.pipeline()
      for (const a of agents) pipeline.hget(keys.agent(a), 'last_event_id')
      const replies = (await pipeline.exec()) ?? []
      const out = new Map<string, string>()
      replies.forEach(([error, value], i) => {
        if (!error && typeof value === 'string') out.set(agents[i] as string, value)
      })
      return out
    }),
    poller(markers, neo4jSeen, NEO4J_POLL_MS, async (agents) => {
      const { records } = await driver.executeQuery(
        'MATCH (a:Agent) WHERE a.id IN $ids RETURN a.id AS id, a.last_event_id AS e',
        { ids: agents },
        { database: config.neo4j.database, routing: neo4j.routing.READ },
      )
      return new Map(records.map((r) => [r.get('id') as string, r.get('e') as string]))
    }),
  ]

  const agentTopic = names.inputs.agent_events
  const note = (r: OutgoingRecord) => {
    const event = r.event as { payload: object; agent_id?: string; team_id?: string; task_id?: string }
    if (event.agent_id !== undefined && r.topic === agentTopic) seen.agents.add(event.agent_id)
    if (event.team_id !== undefined && r.topic === names.inputs.team_events) seen.teams.add(event.team_id)
    if (event.task_id !== undefined && r.topic === names.inputs.task_events) seen.tasks.add(event.task_id)
    if (payloadName(event.payload) === 'AgentCreated')
      for (const c of (payloadOf(event.payload) as { capabilities: { name: string }[] }).capabilities)
        seen.capabilities.set(c.name, (seen.capabilities.get(c.name) ?? 0) + 1)
  }
  const markSent = (r: OutgoingRecord, at: number) => {
    if (r.topic !== agentTopic) return
    const event = r.event as { event_id: string; agent_id: string }
    markers.sent(event.agent_id, event.event_id, at)
  }

  // POST /events: one lane per connection, an entity event's lane by its key, so that an entity's
  // events are posted one after the other in their order (two connections could reorder them). System
  // events (18% of the generator's events, on 5 components) go to the shortest lane: per-key lanes
  // would post each component's ~180 events/s (at 5k/s) one at a time, and a component's reports
  // (health, metrics of many replicas) carry no order the processors rely on beyond the windows' grace.
  let posted = 0
  let postErrors = 0
  const postTimes: number[] = []
  const queues: OutgoingRecord[][] = Array.from({ length: lanes }, () => [])
  const wake: ((() => void) | undefined)[] = Array.from({ length: lanes }, () => undefined)
  let ending = false
  const laneOf = (key: Buffer) => {
    let h = 0
    for (const b of key) h = (Math.imul(h, 31) + b) | 0
    return (h >>> 0) % lanes
  }
  const shortestLane = () => {
    let best = 0
    for (let i = 1; i < lanes; i++)
      if ((queues[i] as unknown[]).length < (queues[best] as unknown[]).length) best = i
    return best
  }
  const headers = { authorization: `Bearer ${api.operator}`, 'content-type': 'application/json' }
  const laneLoops =
    via === 'api'
      ? Array.from({ length: lanes }, async (_, lane) => {
          const queue = queues[lane] as OutgoingRecord[]
          for (;;) {
            const r = queue.shift()
            if (r === undefined) {
              if (ending) return
              await new Promise<void>((resolve) => {
                wake[lane] = resolve
              })
              continue
            }
            const body = flatBody(r.event as { payload: object })
            const at = performance.now()
            markSent(r, at)
            const res = await request(api.port, 'POST', '/events', headers, body).catch((error) => ({
              status: 0,
              text: String(error),
            }))
            if (res.status === 202) {
              posted++
              if (at >= markers.measureFrom) postTimes.push(performance.now() - at)
            } else if (postErrors++ < 5)
              log(`  POST /events answered ${res.status}: ${res.text.slice(0, 200)}`)
          }
        })
      : []
  const producer = via === 'producer' ? createProducer(config.kafka, { clientId: 'bench-p5' }) : undefined
  let produced = 0
  const sink: RecordSink = {
    async write(batch) {
      for (const r of batch) note(r)
      if (producer === undefined) {
        for (const r of batch) {
          const lane = r.topic === names.inputs.system_events ? shortestLane() : laneOf(r.key)
          queues[lane]?.push(r)
          wake[lane]?.()
          wake[lane] = undefined
        }
        return
      }
      const at = performance.now()
      for (const r of batch) markSent(r, at)
      await producer.send({
        messages: batch.map((r) => ({
          topic: r.topic,
          key: r.key,
          value: r.value,
          timestamp: BigInt(r.timestamp),
        })),
      })
      produced += batch.length
    },
    close: async () => {},
  }

  const started = performance.now()
  const startedAt = Date.now()
  const warm = sleep(warmupMs).then(() => {
    markers.measureFrom = performance.now()
  })
  let lagTimer = true
  const lagLoop = (async () => {
    while (lagTimer) {
      await sleep(5000)
      if (!lagTimer) break
      const t = ((performance.now() - started) / 1000).toFixed(0)
      const sent = via === 'api' ? posted : produced
      const backlog = queues.reduce((n, q) => n + q.length, 0)
      const lag = await lagLine(api.port, names).catch((e) => `lag unavailable (${String(e)})`)
      log(
        `  t=${t}s sent ${sent}${via === 'api' ? ` (client backlog ${backlog})` : ''}; lag: ${lag}; ` +
          `not yet visible: redis ${redisSeen.waiting}, neo4j ${neo4jSeen.waiting} agent events`,
      )
    }
  })()
  const progress = await produceEvents({
    seed: names.run,
    count: Math.round(rate * seconds),
    rate,
    baseTime: Date.now(),
    duplicateShare: 0,
    outOfOrderShare: 0,
    lateShare: 0,
    batchSize: Math.max(1, Math.round(rate / 50)),
    topics: names.inputs,
    target: { kind: 'sink', sink },
    encoding: 'registry',
    registryUrl: config.schemaRegistry.url,
  })
  ending = true
  for (const w of wake) w?.()
  await Promise.all(laneLoops)
  await warm
  const sentFor = (performance.now() - started) / 1000
  const sent = via === 'api' ? posted : produced
  log(
    `offered ${rate} events/s for ${seconds} s: ${progress.written} events generated, ${sent} ${via === 'api' ? 'posted (202)' : 'produced'} ` +
      `in ${sentFor.toFixed(1)} s = ${Math.round(sent / sentFor)} events/s achieved${postErrors > 0 ? `, ${postErrors} POST errors` : ''}`,
  )
  // Drain: until every agent event is visible in both stores, or 3 minutes.
  const drainStart = performance.now()
  while ((redisSeen.waiting > 0 || neo4jSeen.waiting > 0) && performance.now() - drainStart < 180_000)
    await sleep(200)
  const drainedIn = (performance.now() - drainStart) / 1000
  lagTimer = false
  await lagLoop
  for (const p of pollers) await p.stop()
  await committed.stop()
  log(
    `after the last event sent: ${drainedIn.toFixed(1)} s until ${redisSeen.waiting + neo4jSeen.waiting === 0 ? 'every agent event was visible in both stores' : `the timeout, still not visible: redis ${redisSeen.waiting}, neo4j ${neo4jSeen.waiting}`}; lag now: ${await lagLine(api.port, names).catch(() => '-')}`,
  )
  const r = quantiles(redisSeen.latencies)
  const n = quantiles(neo4jSeen.latencies)
  log(
    `post -> visible, ${(warmupMs / 1000).toFixed(1)} s warm-up left out, events via ${via === 'api' ? 'POST /events' : 'a producer'} ` +
      `(${redisSeen.seen} agent events seen in Redis, ${neo4jSeen.seen} in Neo4j):`,
  )
  log(`  Redis (agent hash, polled every ${REDIS_POLL_MS} ms): ${describe(r)}`)
  log(`  Neo4j (Agent node, polled every ${NEO4J_POLL_MS} ms): ${describe(n)}`)
  log(
    `  the processor's part: post -> agent snapshot committed in its output topic (read read_committed): ` +
      describe(quantiles(kafkaSeen.latencies)),
  )
  if (via === 'api') log(`  POST /events answer time (202): ${describe(quantiles(postTimes))}`)
  log(`  run started ${new Date(startedAt).toISOString()}; ${machineLoad()}`)
  await redis.quit()
  await driver.close()
  await producer?.close()
  return {
    achieved_events_per_s: Math.round(sent / sentFor),
    p99_redis_ms: r?.p99 ?? -1,
    p99_neo4j_ms: n?.p99 ?? -1,
    p50_redis_ms: r?.p50 ?? -1,
    p50_neo4j_ms: n?.p50 ?? -1,
  }
}

// ---- part 2: reads under load ----------------------------------------------------------------------------

interface AutocannonResult {
  requests: { average: number }
  totalCompletedRequests: number
  non2xx: number
  errors: number
  timeouts: number
  duration: number
}
type AutocannonInstance = PromiseLike<AutocannonResult> & {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void
}
// autocannon ships no types: its programmatic entry, typed for what this file uses.
const autocannon = createRequire(import.meta.url)('autocannon') as (options: object) => AutocannonInstance

async function reads(
  port: number,
  viewer: string,
  operator: string,
  seen: Seen,
  connections: number,
  seconds: number,
  readRate: number,
): Promise<Record<string, number>> {
  const auth = { authorization: `Bearer ${viewer}` }
  const get = async (path: string) => {
    const res = await request(port, 'GET', path, auth)
    return {
      status: res.status,
      body: res.status === 200 ? (JSON.parse(res.text) as Record<string, unknown>) : {},
    }
  }
  // Ids the stores have: agents and teams the read model answers for, token groups from the leaderboard.
  const agents: string[] = []
  for (const id of seen.agents) {
    if (agents.length >= 100) break
    if ((await get(`/agents/${id}`)).status === 200) agents.push(id)
  }
  const teams: string[] = []
  for (const id of [...seen.teams].reverse()) {
    if (teams.length >= 100) break
    if ((await get(`/teams/${id}`)).status === 200) teams.push(id)
  }
  const board = await get('/leaderboard?limit=100')
  const leaders = ((board.body.entries as { agent_id: string }[] | undefined) ?? []).map((e) => e.agent_id)
  const capabilities = [...seen.capabilities].sort((a, b) => b[1] - a[1]).map(([c]) => c)
  const endpoints: { name: string; paths: string[] }[] = [
    { name: 'GET /agents/:id', paths: agents.map((id) => `/agents/${id}`) },
    { name: 'GET /agents?status=IDLE', paths: ['/agents?status=IDLE'] },
    { name: 'GET /agents?status=BUSY', paths: ['/agents?status=BUSY'] },
    { name: 'GET /teams/:id', paths: teams.map((id) => `/teams/${id}`) },
    {
      name: 'GET /windows/tokens_by_agent?group=',
      paths: leaders.map((id) => `/windows/tokens_by_agent?group=${encodeURIComponent(id)}`),
    },
    { name: 'GET /leaderboard', paths: ['/leaderboard'] },
    {
      name: 'GET /graph/idle-agents?capability=',
      paths: capabilities.slice(0, 5).map((c) => `/graph/idle-agents?capability=${encodeURIComponent(c)}`),
    },
  ]
  const count = await agentNodes()
  log(
    `reads: ${connections} connections, ${readRate > 0 ? `${readRate} requests/s offered` : 'each as fast as it answers (closed loop)'}, ` +
      `${seconds} s per endpoint, one endpoint at a time, autocannon on loopback; ` +
      `the data: ${seen.agents.size} agents, ${seen.teams.size} teams, ${seen.tasks.size} tasks of this run ` +
      `(Neo4j holds ${count} Agent nodes in all, other runs' included); ${machineLoad()}`,
  )
  const out: Record<string, number> = {}
  for (const endpoint of endpoints) {
    if (endpoint.paths.length === 0) {
      log(`  ${endpoint.name}: no ids to ask for, skipped`)
      continue
    }
    const probe = await get(endpoint.paths[0] as string)
    const size = JSON.stringify(probe.body).length
    const items = (probe.body.items ?? probe.body.agents ?? probe.body.windows ?? probe.body.entries) as
      | unknown[]
      | undefined
    let next = 0
    const { result, q } = await load({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration: seconds,
      ...(readRate > 0 ? { overallRate: readRate } : {}),
      headers: auth,
      requests: [
        {
          method: 'GET',
          setupRequest: (req: object) => ({ ...req, path: endpoint.paths[next++ % endpoint.paths.length] }),
        },
      ],
    })
    log(
      `  ${endpoint.name.padEnd(36)} ${Math.round(result.requests.average)} req/s, ${describe(q)}; ` +
        `${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts ` +
        `(first answer ${probe.status}, ${size} bytes${items === undefined ? '' : `, ${items.length} items`}; ${endpoint.paths.length} distinct paths)`,
    )
    const key = endpoint.name
      .replace(/[^a-z]+/gi, '_')
      .replace(/^_|_$/g, '')
      .toLowerCase()
    out[`${key}_p95_ms`] = q?.p95 ?? -1
  }
  // The ingest's own capacity, for the end-to-end part: one small event (no event_id: each request a
  // new one), as fast as the connections go, into this run's system_events topic.
  const body = JSON.stringify({
    type: 'ComponentHealth',
    component: 'bench-p5',
    level: 'HEALTHY',
    message: 'ok',
  })
  const { result, q } = await load({
    url: `http://127.0.0.1:${port}/events`,
    connections,
    duration: seconds,
    ...(readRate > 0 ? { overallRate: readRate } : {}),
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
    body,
  })
  log(
    `  ${'POST /events (ComponentHealth)'.padEnd(36)} ${Math.round(result.requests.average)} req/s, ${describe(q)}; ` +
      `${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
  )
  out.post_events_per_s = Math.round(result.requests.average)
  out.post_events_p95_ms = q?.p95 ?? -1
  log(`after reads: ${machineLoad()}`)
  return out
}

/** One autocannon run; p50/p95/p99 from every response time (its own summary has no p95). */
async function load(options: object): Promise<{ result: AutocannonResult; q: Quantiles | undefined }> {
  const times: number[] = []
  const instance = autocannon(options)
  instance.on('response', (_client, _status, _bytes, ms) => {
    times.push(ms)
  })
  const result = await instance
  return { result, q: quantiles(times) }
}

/** Agent nodes in the whole graph (other runs' and tests' included): what the graph reads scan. */
async function agentNodes(): Promise<number> {
  const driver = createNeo4jDriver(config.neo4j)
  try {
    const { records } = await driver.executeQuery(
      'MATCH (a:Agent) RETURN count(a) AS n',
      {},
      {
        database: config.neo4j.database,
      },
    )
    return Number(records[0]?.get('n') ?? 0)
  } finally {
    await driver.close()
  }
}

// ---- setup and clean-up --------------------------------------------------------------------------------

async function setup(names: RunNames, dir: string): Promise<{ processorFile: string; usersFile: string }> {
  await prepareProduceTargets(config, {
    topics: names.inputs,
    oldestEventTime: Date.now() - 60_000,
    createTopics: true,
  })
  const admin = createAdmin(config.kafka, 'bench-p5')
  try {
    // The processor creates them too, but its check right after can miss topics the broker's metadata
    // does not show yet (MISSING_SINK_TOPIC): created here, as provisioning does.
    await ensureTopics(admin, outputTopicSpecs(names.outputs), 1)
  } finally {
    await admin.close()
  }
  await registerSchemas(new RegistryClient({ url: config.schemaRegistry.url }), outputSubjects(names.outputs))
  const processorFile = join(dir, 'processor.json')
  writeFileSync(
    processorFile,
    JSON.stringify({
      applicationId: names.applicationId,
      inputTopics: names.inputs,
      outputTopics: names.outputs,
    }),
  )
  const usersFile = join(dir, 'users.json')
  await addUser(usersFile, 'viewer', 'viewer', PASSWORD)
  await addUser(usersFile, 'operator', 'operator', PASSWORD)
  return { processorFile, usersFile }
}

/** Topics, subjects, groups, Redis keys and graph nodes of the run `bench.p5.<id>` (or of every run). */
async function cleanUp(run: string, seen?: Seen): Promise<void> {
  const admin = createAdmin(config.kafka, 'bench-p5-clean')
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${run}.`))
    for (let i = 0; i < mine.length; i += 20) await admin.deleteTopics({ topics: mine.slice(i, i + 20) })
    const ours = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`${run}.`))
    if (ours.length > 0) await admin.deleteGroups({ groups: ours }).catch(() => {})
    log(`deleted ${mine.length} topics, ${ours.length} consumer groups`)
  } finally {
    await admin.close()
  }
  const registry = new RegistryClient({ url: config.schemaRegistry.url })
  const subjects = ((await (await fetch(`${config.schemaRegistry.url}/subjects`)).json()) as string[]).filter(
    (s) => s.startsWith(`${run}.`),
  )
  for (const subject of subjects) await registry.deleteSubject(subject, true).catch(() => {})
  const redis = new Redis(config.redis.url)
  let keys = 0
  try {
    const prefix = run === 'bench.p5' ? 'bench-p5-' : `bench-p5-${run.slice('bench.p5.'.length)}:`
    let cursor = '0'
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (batch.length > 0) keys += await redis.unlink(...batch)
    } while (cursor !== '0')
  } finally {
    await redis.quit()
  }
  const driver = createNeo4jDriver(config.neo4j)
  let nodes = 0
  try {
    const db = { database: config.neo4j.database }
    const offsets = await driver.executeQuery(
      'MATCH (o:SinkOffset) WHERE o.topic STARTS WITH $run DELETE o RETURN count(*) AS n',
      { run: `${run}.` },
      db,
    )
    nodes += Number(offsets.records[0]?.get('n') ?? 0)
    for (const [label, ids] of [
      ['Agent', seen?.agents],
      ['Team', seen?.teams],
      ['Task', seen?.tasks],
    ] as const) {
      if (ids === undefined || ids.size === 0) continue
      const all = [...ids]
      for (let i = 0; i < all.length; i += 5000) {
        const res = await driver.executeQuery(
          `MATCH (n:${label}) WHERE n.id IN $ids DETACH DELETE n RETURN count(*) AS n`,
          { ids: all.slice(i, i + 5000) },
          db,
        )
        nodes += Number(res.records[0]?.get('n') ?? 0)
      }
    }
    // Capabilities only this run's agents and tasks had (now without relationships).
    if (seen !== undefined && seen.capabilities.size > 0) {
      const res = await driver.executeQuery(
        'MATCH (c:Capability) WHERE c.name IN $names AND NOT EXISTS { (c)--() } DELETE c RETURN count(*) AS n',
        { names: [...seen.capabilities.keys()] },
        db,
      )
      nodes += Number(res.records[0]?.get('n') ?? 0)
    }
  } finally {
    await driver.close()
  }
  log(`deleted ${subjects.length} registry subjects, ${keys} Redis keys, ${nodes} Neo4j nodes`)
}

// ---- main -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const childRole = option('child', 'BENCH_P5_CHILD')
  if (childRole !== undefined) return runChild(childRole as Role)
  if (flag('clean')) return cleanUp('bench.p5')
  const readsOnly = flag('reads-only')
  const rate = Number(option('rate', 'BENCH_P5_RATE') ?? (readsOnly ? 1000 : 5000))
  const seconds = Number(option('seconds', 'BENCH_P5_SECONDS') ?? (readsOnly ? 30 : 60))
  const via = (option('via', 'BENCH_P5_VIA') ?? 'producer') as 'api' | 'producer'
  const lanes = Number(option('lanes', 'BENCH_P5_LANES') ?? 64)
  const connections = Number(option('connections', 'BENCH_P5_CONNECTIONS') ?? 20)
  const readSeconds = Number(option('read-seconds', 'BENCH_P5_READ_SECONDS') ?? 15)
  const readRate = Number(option('read-rate', 'BENCH_P5_READ_RATE') ?? 0)
  if (via !== 'api' && via !== 'producer') throw new Error(`--via must be api or producer, not ${via}`)

  const id = Date.now().toString(36)
  const names = runNames(id)
  const seen: Seen = { agents: new Set(), teams: new Set(), tasks: new Set(), capabilities: new Map() }
  const children: Child[] = []
  const stateDir = join(tmpdir(), `${names.run}-state`)
  mkdirSync(stateDir, { recursive: true })
  const configDir = mkdtempSync(join(tmpdir(), 'bench-p5-'))
  try {
    log(`run ${names.run}; ${machineLoad()}`)
    const { processorFile, usersFile } = await setup(names, configDir)
    const env = {
      PROCESSOR_CONFIG: processorFile,
      PROCESSING_GUARANTEE: 'exactly_once',
      SINKS: 'neo4j,redis',
      SINK_GROUP_PREFIX: names.sinkGroupPrefix,
      REDIS_KEY_PREFIX: names.redisPrefix,
      METRICS_PORT: '0',
      API_PORT: '0',
      API_HOST: '127.0.0.1',
      API_JWT_SECRET: SECRET,
      API_USERS_FILE: usersFile,
      API_RATE_LIMIT_PER_MINUTE: '0',
      LAG_POLL_MS: '1000',
      LOG_LEVEL: 'warn',
      STATE_DIR: stateDir,
      INSTANCE_ID: `${names.run}-instance`,
    }
    const started = performance.now()
    for (const role of ['processor', 'sinks', 'api'] as const) children.push(new Child(role, env))
    const [processor, sinks, api] = children as [Child, Child, Child]
    await Promise.all(children.map((c) => c.waitFor('ready')))
    await processor.waitFor('state RUNNING')
    const port = (JSON.parse(await api.waitFor('ready')) as { port: number }).port
    log(
      `processor, sinks (neo4j, redis) and API up in ${((performance.now() - started) / 1000).toFixed(1)} s, API on port ${port}`,
    )
    await sleep(2000)
    const operator = await token(port, 'operator')
    const viewer = await token(port, 'viewer')
    const results: Record<string, number> = {}
    Object.assign(results, await endToEnd(names, { port, operator }, rate, seconds, via, lanes, seen))
    if (!flag('skip-reads'))
      Object.assign(results, await reads(port, viewer, operator, seen, connections, readSeconds, readRate))
    if (!sinks.running || !processor.running) log('a child exited during the run: see its lines above')
    process.stdout.write(
      `${Object.entries({ rate, seconds, ...results })
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')} via=${via}\n`,
    )
  } finally {
    for (const c of children.reverse()) await c.stop()
    await cleanUp(names.run, seen)
    rmSync(stateDir, { recursive: true, force: true })
    rmSync(configDir, { recursive: true, force: true })
  }
}

main().then(
  () => {
    if (option('child', 'BENCH_P5_CHILD') === undefined) process.exit(process.exitCode ?? 0)
  },
  (error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)

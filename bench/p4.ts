// P4: the Redis sink's records/s through RedisSinkTarget.apply() with the offset guard (the script
// reads each partition's stored offset, skips records at or below it, stores the batch's last
// offset), as a ratio to the same Lua writes without the guard (offsetMode 'none': no offset read
// nor written), same batches, same parallelism, same run, alternating rounds (the goal: at
// least 0.8).
//
//   npm run bench:p4                                    200k records, batches of 500, 4 in parallel
//   npm run bench:p4 -- --records 500000 --batch 1000 --parallel 8 --rounds 5
//
// Workload: a mix of the sink's three write shapes, decoded once before timing: agent snapshots
// (hash + index sets moved from the previous snapshot), task snapshots (hash + index sets), and
// tokens_by_agent windows (hash with PEXPIREAT, range index ZSET trimmed, leaderboard ZSET). 8
// partitions, each owned by one of `parallel` workers (as the runner scales: by partition), each worker
// with its own connection applying its partitions' batches one after another. The keys are deleted
// (untimed) before each round, so every round writes the same keys from empty; the records carry no
// Kafka key, so the in-batch dedup drops nothing and every record is written. Each round also prints
// Redis' own script time (INFO commandstats, EVALSHA usec), which the client's load does not blur.
// Also measured: the same script with its arguments as separate ARGV strings (the encoding not
// chosen), and the reference script (3 HINCRBY + ZINCRBY + SET PX per record) as the raw
// Redis rate of this machine now. Last line: records_per_s=<guarded>.
import { resolveProcessorConfig } from '../processors/config.js'
import { OUTPUT_NAMES, type OutputName } from '../processors/outputs.js'
import { createProcessorSerdes } from '../processors/serdes.js'
import { windowedKey } from '../processors/windowed-key.js'
import { APPLY_SCRIPT } from '../sinks/redis/apply-script.js'
import { RedisSinkTarget } from '../sinks/redis/target.js'
import type { RedisWrite } from '../sinks/redis/writes.js'
import type { PartitionBatch } from '../sinks/runtime/target.js'
import { Window, Windowed } from '../topology/index.js'
import { config, log, machineLoad, option } from './kafka-workload.js'

const RECORDS = Number(option('records', 'BENCH_P4_RECORDS') ?? 200_000)
const BATCH = Number(option('batch', 'BENCH_P4_BATCH') ?? 500)
const PARALLEL = Number(option('parallel', 'BENCH_P4_PARALLEL') ?? 4)
const ROUNDS = Number(option('rounds', 'BENCH_P4_ROUNDS') ?? 3)
const PARTITIONS = 8
const AGENTS = 10_000
const RUN = Date.now().toString(36)
const PREFIX = `bench-p4-${RUN}:`
const MINUTE = 60_000

interface Raw {
  output: OutputName
  partition: number
  key: Buffer
  value: object
}

function workload(): Raw[] {
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE
  const statuses = ['IDLE', 'BUSY', 'OFFLINE'] as const
  const caps = ['code-review', 'search', 'planning', 'writing', 'testing', 'ops']
  const out: Raw[] = []
  for (let i = 0; i < RECORDS; i++) {
    const n = (i * 7919) % AGENTS
    const id = `agent-${n}`
    const partition = n % PARTITIONS
    const version = Math.floor(i / AGENTS)
    switch (i % 3) {
      case 0:
        out.push({
          output: 'agents',
          partition,
          key: Buffer.from(id),
          value: {
            agent_id: id,
            status: statuses[(n + version) % 3],
            template_id: `template-${n % 20}`,
            version: 1,
            name: `Agent ${n}`,
            model: 'model-a',
            capabilities: [0, 1].map((k) => ({
              name: caps[(n + k + version) % caps.length] as string,
              category: `cat-${(n + k + version) % 3}`,
            })),
            terminated_reason: null,
            created_at: start,
            updated_at: start + i,
            last_event_id: `e-${i}`,
            events: version + 1,
            team_id: `team-${n % 500}`,
            team_role: 'MEMBER',
            team_since: start,
          },
        })
        break
      case 1:
        out.push({
          output: 'tasks',
          partition,
          key: Buffer.from(`task-${n}`),
          value: {
            task_id: `task-${n}`,
            status: version % 2 === 0 ? 'RUNNING' : 'COMPLETED',
            priority: 'NORMAL',
            required_capabilities: ['search'],
            token_budget: 5000,
            team_id: `team-${n % 500}`,
            agent_ids: [id],
            tokens_by_agent: { [id]: 100 + version },
            tokens_used: 100 + version,
            created_at: start,
            assigned_at: start,
            started_at: start,
            finished_at: null,
            duration_ms: null,
            error: null,
            cancel_reason: null,
            updated_at: start + i,
            events: version + 3,
            outcome_event: false,
          },
        })
        break
      default: {
        const windowStart = start + (version % 30) * MINUTE
        out.push({
          output: 'tokensByAgent',
          partition,
          key: windowedKey(MINUTE).serialize(
            '',
            new Windowed(id, new Window(windowStart, windowStart + MINUTE)),
          ) as Buffer,
          value: {
            agent_id: id,
            window_start: windowStart,
            window_end: windowStart + MINUTE,
            tokens: 100 + version,
          },
        })
      }
    }
  }
  return out
}

type Work = PartitionBatch<RedisWrite>[][]

/** Each worker's batches: BATCH records of its partitions, each partition's records in offset order. */
async function batches(target: RedisSinkTarget, topics: Record<OutputName, string>): Promise<Work[]> {
  const serdes = target.serdes
  const offsets = new Map<string, number>()
  const perWorker: { topic: string; partition: number; offset: number; record: RedisWrite }[][] = Array.from(
    { length: PARALLEL },
    () => [],
  )
  for (const raw of workload()) {
    const topic = topics[raw.output]
    const tp = `${topic}:${raw.partition}`
    const offset = offsets.get(tp) ?? 0
    offsets.set(tp, offset + 1)
    const value = serdes.output<object>(raw.output).serialize(topic, raw.value) as Buffer
    const record = target.decode({
      topic,
      partition: raw.partition,
      offset,
      timestamp: 0,
      key: raw.key,
      value,
      headers: new Map(),
    })
    perWorker[raw.partition % PARALLEL]?.push({ topic, partition: raw.partition, offset, record })
  }
  return perWorker.map((items) => {
    const work: Work = []
    for (let i = 0; i < items.length; i += BATCH) {
      const byPartition = new Map<
        string,
        { topic: string; partition: number; records: PartitionBatch<RedisWrite>['records'][number][] }
      >()
      for (const item of items.slice(i, i + BATCH)) {
        const tp = `${item.topic}:${item.partition}`
        let part = byPartition.get(tp)
        if (part === undefined) {
          part = { topic: item.topic, partition: item.partition, records: [] }
          byPartition.set(tp, part)
        }
        part.records.push({ offset: item.offset, timestamp: 0, key: null, value: item.record })
      }
      work.push([...byPartition.values()].map((p) => ({ ...p, lastOffset: p.records.at(-1)?.offset ?? 0 })))
    }
    return work
  })
}

/** Microseconds Redis spent in EVALSHA so far (INFO commandstats): the server's side of a round. */
async function scriptUsec(target: RedisSinkTarget): Promise<number> {
  const info = await target.redis.info('commandstats')
  const match = /cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(info)
  return match ? Number(match[1]) : 0
}

interface Round {
  /** Records/s from the first call to the last reply. */
  rate: number
  /** Records/s of Redis' own script time (the server's CPU, without the client and the network). */
  serverRate: number
}

async function round(targets: RedisSinkTarget[], work: Work[]): Promise<Round> {
  const first = targets[0] as RedisSinkTarget
  await first.reset()
  const usec0 = await scriptUsec(first)
  const t0 = performance.now()
  await Promise.all(
    work.map(async (batchesOfWorker, w) => {
      const target = targets[w] as RedisSinkTarget
      for (const batch of batchesOfWorker) await target.apply(batch)
    }),
  )
  const rate = RECORDS / ((performance.now() - t0) / 1000)
  return { rate, serverRate: RECORDS / (((await scriptUsec(first)) - usec0) / 1e6) }
}

// The same script reading its arguments as separate ARGV strings instead of one JSON array: the other
// encoding considered, measured guarded in every round.
const FLAT_SCRIPT = APPLY_SCRIPT.replace('local A = cjson.decode(ARGV[1])', 'local A = ARGV')

async function flatRound(targets: RedisSinkTarget[], work: Work[]): Promise<number> {
  await targets[0]?.reset()
  const sha = String(await targets[0]?.redis.script('LOAD', FLAT_SCRIPT))
  const t0 = performance.now()
  await Promise.all(
    work.map(async (batchesOfWorker, w) => {
      const target = targets[w] as RedisSinkTarget
      for (const batch of batchesOfWorker) {
        await target.redis.evalsha(sha, 0, ...target.scriptArguments(batch, Date.now()))
      }
    }),
  )
  return RECORDS / ((performance.now() - t0) / 1000)
}

// The reference figure: 500 records per call, 3 HINCRBY + ZINCRBY + SET with TTL each.
const REFERENCE_SCRIPT = `
for i = 1, #ARGV, 2 do
  local h = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  redis.call('HINCRBY', h, 'count', 1)
  redis.call('HINCRBY', h, 'tokens', n)
  redis.call('HINCRBY', h, 'events', 1)
  redis.call('ZINCRBY', KEYS[1], n, h)
  redis.call('SET', h .. ':last', n, 'PX', 3600000)
end
return 0`

async function referenceRound(targets: RedisSinkTarget[]): Promise<number> {
  const sha = String(await targets[0]?.redis.script('LOAD', REFERENCE_SCRIPT))
  const perWorker = Math.ceil(RECORDS / PARALLEL)
  const t0 = performance.now()
  await Promise.all(
    targets.map(async (target, w) => {
      for (let i = 0; i < perWorker; i += BATCH) {
        const args: string[] = []
        for (let j = i; j < Math.min(i + BATCH, perWorker); j++)
          args.push(`${PREFIX}ref:${w}:${j % AGENTS}`, String(j))
        await target.redis.evalsha(sha, 1, `${PREFIX}ref-board`, ...args)
      }
    }),
  )
  return (perWorker * PARALLEL) / ((performance.now() - t0) / 1000)
}

async function main(): Promise<void> {
  const topics = Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `bench.p4.${n}`])) as Record<
    OutputName,
    string
  >
  const serdes = await createProcessorSerdes(resolveProcessorConfig({ outputTopics: topics }), {
    encoding: 'single-object',
  })
  const make = (offsetMode: 'guard' | 'none') =>
    new RedisSinkTarget({
      url: config.redis.url,
      serdes,
      prefix: PREFIX,
      name: 'bench-p4',
      outputTopics: topics,
      offsetMode,
    })
  const guarded = Array.from({ length: PARALLEL }, () => make('guard'))
  const raw = Array.from({ length: PARALLEL }, () => make('none'))
  await Promise.all([...guarded, ...raw].map((t) => t.open()))
  try {
    log(machineLoad())
    const work = await batches(guarded[0] as RedisSinkTarget, topics)
    log(
      `${RECORDS} records (agents, tasks, tokens_by_agent windows), batches of ${BATCH}, ${PARALLEL} workers over ${PARTITIONS} partitions, ${ROUNDS} rounds`,
    )
    // Warm-up (JIT, script cache), untimed in the result.
    await round(guarded, work)
    await round(raw, work)
    const g: Round[] = []
    const r: Round[] = []
    const j: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate which mode goes first.
      let a: Round
      let b: Round
      if (i % 2 === 0) {
        a = await round(guarded, work)
        b = await round(raw, work)
      } else {
        b = await round(raw, work)
        a = await round(guarded, work)
      }
      g.push(a)
      r.push(b)
      j.push(await flatRound(guarded, work))
      log(
        `round ${i + 1}: guarded ${Math.round(a.rate)} records/s (Redis script time: ${Math.round(a.serverRate)}/s), ` +
          `unguarded ${Math.round(b.rate)} records/s (${Math.round(b.serverRate)}/s), ratio ${(a.rate / b.rate).toFixed(3)} ` +
          `(script time ${(a.serverRate / b.serverRate).toFixed(3)})`,
      )
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number
    const ratios = g.map((x, i) => x.rate / (r[i] as Round).rate)
    const serverRatios = g.map((x, i) => x.serverRate / (r[i] as Round).serverRate)
    log(
      `median: guarded ${Math.round(median(g.map((x) => x.rate)))} records/s, unguarded ${Math.round(median(r.map((x) => x.rate)))} records/s, ` +
        `ratio ${median(ratios).toFixed(3)} (goal >= 0.8); Redis script time ratio ${median(serverRatios).toFixed(3)}`,
    )
    log(
      `guarded, the same script with its arguments as separate ARGV strings instead of one JSON array, median: ${Math.round(median(j))} records/s (${j.map(Math.round).join(', ')})`,
    )
    const reference = await referenceRound(guarded)
    log(
      `reference script (3 HINCRBY + ZINCRBY + SET PX per record, batches of ${BATCH}): ${Math.round(reference)} records/s`,
    )
    log(`after: ${machineLoad()}`)
    process.stdout.write(`records_per_s=${Math.round(median(g.map((x) => x.rate)))}\n`)
  } finally {
    await guarded[0]?.reset()
    await Promise.all([...guarded, ...raw].map((t) => t.close()))
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})

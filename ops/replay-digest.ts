// The state the Neo4j and Redis sinks hold, as a digest a replay compares before and after the
// rebuild: per table (an entity table, or one output), a map from an id to a hash of that id's
// canonical value (the graph node's properties with its relationships; the Redis key's content,
// whatever its type), so that a million events cost a few bytes per id, not their values.
//
// Which tables must come back equal is decided here, in one place (TIMING_DEPENDENT): the entity
// tables and the aggregates of one topic are deterministic (the same input log gives the same final
// values, whatever the interleaving of partitions and topics); the outputs that depend on cross-topic
// timing (a join reads the other side as it stands when a record is processed) or on the wall clock
// (processing latency, punctuated alerts) are listed apart with the reason.
//
// Scope. Redis: every key under the sink's prefix, other sinks' offsets left out. Neo4j: the sink has
// no prefix (the graph is the deployment's), so the digest covers every Agent, Team and Task node by
// default; `graph: { ids }` restricts it to given ids (tests share one graph between files). Capability
// nodes are compared through their entities' relationships (`HAS_CAPABILITY`, `REQUIRES`).
import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import neo4j from 'neo4j-driver'
import type { Config } from '../config/config.js'
import { OUTPUT_NAMES, type OutputName } from '../processors/outputs.js'
import { createNeo4jDriver } from '../sinks/neo4j/driver.js'
import { DEFAULT_PREFIX, outputId, RedisKeys } from '../sinks/redis/keys.js'
import { redisConnectionOptions } from '../sinks/redis/target.js'

/** Why an output of the sinks can differ after a replay of the same log. */
export const TIMING_DEPENDENT: Readonly<Partial<Record<OutputName | 'other', string>>> = Object.freeze({
  processingLatency: 'processing time minus occurred_at: the wall clock of the run',
  inferenceTime:
    'team_events joined with system_events in windows: which events meet depends on when each topic is read',
  tokensByTemplate:
    'task snapshots joined with the agent table as it stands when the task record is processed (cross-topic)',
  tokensByTemplateHourly:
    'task snapshots joined with the agent table as it stands when the task record is processed (cross-topic)',
  teamTaskOutcomes:
    'task outcomes joined with the team table as it stands when the outcome is processed (cross-topic)',
  teamTaskAttribution:
    'task outcomes joined with the team table as it stands when the outcome is processed (cross-topic)',
  formationRequestCapacity:
    'formation requests (team_events) joined with the idle capacity (agent_events) at processing time',
  alerts:
    'punctuators on stream time across topics and on the wall clock; counts of late and dead-lettered records',
})

export type TableClass = 'deterministic' | 'timing-dependent'

export function tableClass(output: OutputName | 'other'): { class: TableClass; reason: string } {
  const reason = TIMING_DEPENDENT[output]
  return reason === undefined
    ? {
        class: 'deterministic',
        reason:
          output === 'agents' || output === 'teams' || output === 'tasks'
            ? 'entity table: the fold of its entities\u2019 events'
            : 'an aggregate of one topic (or of a table of one topic)',
      }
    : { class: 'timing-dependent', reason }
}

/** One table's digest: id -> hash of its canonical value. */
export type TableDigest = Map<string, string>

export interface SinkDigest {
  /** Keys: `neo4j:<output>` (agents, teams, tasks) and `redis:<output>` (each output the sink serves). */
  readonly tables: Map<string, TableDigest>
  readonly takenAt: number
}

export type GraphScope =
  | { readonly scope: 'all' }
  | {
      readonly scope: 'ids'
      readonly ids: {
        readonly agents: readonly string[]
        readonly teams: readonly string[]
        readonly tasks: readonly string[]
      }
    }

export interface DigestOptions {
  /** The stores to read. Default both. */
  readonly sinks?: readonly ('neo4j' | 'redis')[]
  /** The Redis sink's key prefix. Default REDIS_KEY_PREFIX (config). */
  readonly redisPrefix?: string
  /** Default every node (see the file's comment). */
  readonly graph?: GraphScope
}

/** A stable JSON text of a value: object keys sorted, Neo4j integers and bigints as decimal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(normalize(value))
}

function normalize(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (neo4j.isInt(value)) return value.toString()
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(normalize)
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))
    return Object.fromEntries(entries.map(([k, v]) => [k, normalize(v)]))
  }
  return value
}

export function hashOf(text: string): string {
  return createHash('sha1').update(text).digest('base64url')
}

const OUTPUT_BY_ID = new Map(OUTPUT_NAMES.map((name) => [outputId(name), name]))

/**
 * The output (table) a Redis key belongs to, from its name without the prefix (sinks/redis/keys.ts):
 * entity hashes and their index sets go with their entity table, windows, window indexes, group
 * indexes and leaderboards with their output, capacity keys with idleAgentsByCapability, alert hashes
 * and the recent list with alerts; anything else is `other`.
 */
export function redisKeyOutput(rest: string): OutputName | 'other' {
  const head = rest.slice(0, rest.indexOf(':') === -1 ? rest.length : rest.indexOf(':'))
  switch (head) {
    case 'agent':
    case 'agents':
      return 'agents'
    case 'team':
    case 'teams':
      return 'teams'
    case 'task':
    case 'tasks':
      return 'tasks'
    case 'capacity':
      return 'idleAgentsByCapability'
    case 'alert':
    case 'alerts':
      return 'alerts'
    case 'm':
    case 'mi':
    case 'mg':
    case 'lb': {
      const after = rest.slice(head.length + 1)
      const end = after.indexOf(':')
      return OUTPUT_BY_ID.get(end === -1 ? after : after.slice(0, end)) ?? 'other'
    }
    default:
      return 'other'
  }
}

export async function digestSinks(config: Config, options: DigestOptions = {}): Promise<SinkDigest> {
  const tables = new Map<string, TableDigest>()
  const sinks = options.sinks ?? ['neo4j', 'redis']
  if (sinks.includes('neo4j')) await digestGraph(config, options.graph ?? { scope: 'all' }, tables)
  if (sinks.includes('redis'))
    await digestRedis(config.redis, options.redisPrefix ?? config.redis.keyPrefix ?? DEFAULT_PREFIX, tables)
  return { tables, takenAt: Date.now() }
}

const GRAPH_LABELS = [
  ['Agent', 'agents'],
  ['Team', 'teams'],
  ['Task', 'tasks'],
] as const

async function digestGraph(
  config: Config,
  scope: GraphScope,
  tables: Map<string, TableDigest>,
): Promise<void> {
  const driver = createNeo4jDriver(config.neo4j)
  try {
    for (const [label, table] of GRAPH_LABELS) {
      const digest: TableDigest = new Map()
      tables.set(`neo4j:${table}`, digest)
      const ids = scope.scope === 'ids' ? scope.ids[table] : undefined
      if (ids !== undefined && ids.length === 0) continue
      const session = driver.session({ database: config.neo4j.database, defaultAccessMode: 'READ' })
      try {
        // Streamed record by record: only the hashes stay in memory.
        const result = session.run(
          `MATCH (n:${label}) ${ids === undefined ? '' : 'WHERE n.id IN $ids'}
           RETURN n.id AS id, properties(n) AS props,
                  COLLECT { MATCH (n)-[r]-(m)
                            RETURN type(r) + CASE WHEN startNode(r) = n THEN '>' ELSE '<' END
                                   + coalesce(m.id, m.name, '') + ' ' + coalesce(r.role, '') } AS rels`,
          ids === undefined ? {} : { ids: [...ids] },
        )
        for await (const record of result) {
          const rels = [...(record.get('rels') as string[])].sort()
          digest.set(String(record.get('id')), hashOf(canonical({ props: record.get('props'), rels })))
        }
      } finally {
        await session.close()
      }
    }
  } finally {
    await driver.close()
  }
}

/** Keys read per round trip. */
const REDIS_BATCH = 500

async function digestRedis(
  connection: Config['redis'],
  prefix: string,
  tables: Map<string, TableDigest>,
): Promise<void> {
  const redis = new Redis(connection.url, {
    ...redisConnectionOptions(connection),
    lazyConnect: true,
    maxRetriesPerRequest: 3,
  })
  await redis.connect()
  const offsets = `${prefix}sink-offset:`
  const pattern = new RedisKeys(prefix).all()
  try {
    const pending: string[] = []
    const flush = async () => {
      const keys = pending.splice(0)
      if (keys.length === 0) return
      const types = await redis.pipeline(keys.map((k) => ['type', k])).exec()
      const reads = redis.pipeline()
      const kinds: string[] = []
      keys.forEach((key, i) => {
        const type = String(types?.[i]?.[1] ?? 'none')
        kinds.push(type)
        if (type === 'string') reads.get(key)
        else if (type === 'hash') reads.hgetall(key)
        else if (type === 'set') reads.smembers(key)
        else if (type === 'zset') reads.zrange(key, '0', '-1', 'WITHSCORES')
        else if (type === 'list') reads.lrange(key, 0, -1)
        else reads.exists(key)
      })
      const values = await reads.exec()
      keys.forEach((key, i) => {
        const type = kinds[i]
        if (type === 'none') return // expired between the scan and the read
        const rest = key.slice(prefix.length)
        let value = values?.[i]?.[1]
        if (type === 'hash') value = jsonFields(value as Record<string, string>)
        if (type === 'set') value = [...(value as string[])].sort()
        if (type === 'zset') {
          const flat = value as string[]
          const pairs: [string, string][] = []
          for (let j = 0; j + 1 < flat.length; j += 2) pairs.push([flat[j] as string, flat[j + 1] as string])
          pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          // A group index's score is each group's latest window start (ZADD GT): compared with it.
          value = pairs
        }
        const table = `redis:${redisKeyOutput(rest)}`
        const digest = tables.get(table) ?? new Map<string, string>()
        tables.set(table, digest)
        digest.set(rest, hashOf(canonical({ type, value })))
      })
    }
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      for (const key of keys) if (!key.startsWith(offsets)) pending.push(key)
      if (pending.length >= REDIS_BATCH) await flush()
    } while (cursor !== '0')
    await flush()
  } finally {
    redis.disconnect()
  }
}

/**
 * A hash's fields, those holding JSON objects (Avro maps and records: sinks/redis/hash-codec.ts) parsed,
 * so that two maps with the same entries compare equal whatever the order their keys were first set in.
 */
function jsonFields(hash: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [field, raw] of Object.entries(hash)) {
    if (raw.startsWith('{')) {
      try {
        out[field] = JSON.parse(raw)
        continue
      } catch {
        // not JSON: compared as text
      }
    }
    out[field] = raw
  }
  return out
}

export interface TableComparison {
  /** `neo4j:agents`, `redis:tokensByAgent`, ... */
  readonly table: string
  readonly store: 'neo4j' | 'redis'
  readonly output: string
  readonly class: TableClass
  readonly reason: string
  readonly before: number
  readonly after: number
  /** Ids with the same value on both sides. */
  readonly equal: number
  /** Ids on both sides with different values. */
  readonly changed: number
  /** Ids only before (lost by the rebuild). */
  readonly missing: number
  /** Ids only after (new in the rebuild). */
  readonly added: number
  /** The first few ids that differ (changed, missing or added), with how. */
  readonly examples: readonly { readonly id: string; readonly difference: 'changed' | 'missing' | 'added' }[]
}

export interface DigestComparison {
  /** Every deterministic table equal (the exit code of `agent-party replay` follows it). */
  readonly deterministicEqual: boolean
  readonly deterministic: readonly TableComparison[]
  readonly timingDependent: readonly TableComparison[]
}

/** Whether a table came back different: ids changed, missing or added. */
export function differs(t: Pick<TableComparison, 'changed' | 'missing' | 'added'>): boolean {
  return t.changed + t.missing + t.added > 0
}

export function compareDigests(before: SinkDigest, after: SinkDigest, maxExamples = 5): DigestComparison {
  const names = [...new Set([...before.tables.keys(), ...after.tables.keys()])].sort()
  const tables = names.map((table): TableComparison => {
    const a = before.tables.get(table) ?? new Map<string, string>()
    const b = after.tables.get(table) ?? new Map<string, string>()
    const [store, output] = table.split(':', 2) as ['neo4j' | 'redis', string]
    const examples: { id: string; difference: 'changed' | 'missing' | 'added' }[] = []
    const note = (id: string, difference: 'changed' | 'missing' | 'added') => {
      if (examples.length < maxExamples) examples.push({ id, difference })
    }
    let equal = 0
    let changed = 0
    let missing = 0
    for (const [id, hash] of a) {
      const other = b.get(id)
      if (other === undefined) {
        missing++
        note(id, 'missing')
      } else if (other === hash) equal++
      else {
        changed++
        note(id, 'changed')
      }
    }
    let added = 0
    for (const id of b.keys())
      if (!a.has(id)) {
        added++
        note(id, 'added')
      }
    const cls = tableClass(output as OutputName | 'other')
    return {
      table,
      store,
      output,
      ...cls,
      before: a.size,
      after: b.size,
      equal,
      changed,
      missing,
      added,
      examples,
    }
  })
  const deterministic = tables.filter((t) => t.class === 'deterministic')
  return {
    deterministicEqual: !deterministic.some(differs),
    deterministic,
    timingDependent: tables.filter((t) => t.class === 'timing-dependent'),
  }
}

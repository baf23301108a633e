// The Redis sink target against the local stack's Redis: the read model's exact keys and values after
// apply, the offset guard (records at or below the stored offset, a batch applied twice), tombstones,
// expiries from window ends, restart, a reset scoped to its prefix, and how failures are classified.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FetchedRecord } from '../../kafka/partition-fetcher.js'
import { partitionKey } from '../../kafka/partition-fetcher.js'
import type { Alert } from '../../processors/alerts/alert.js'
import { resolveProcessorConfig } from '../../processors/config.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import { OUTPUT_NAMES, type OutputName } from '../../processors/outputs.js'
import { createProcessorSerdes, type ProcessorSerdes } from '../../processors/serdes.js'
import { windowedKey } from '../../processors/windowed-key.js'
import { outputId } from '../../sinks/redis/keys.js'
import { RedisReadModel } from '../../sinks/redis/read-model.js'
import { RedisReconnectedError, type RedisSinkOptions, RedisSinkTarget } from '../../sinks/redis/target.js'
import type { RedisWrite } from '../../sinks/redis/writes.js'
import type { DecodedRecord, PartitionBatch } from '../../sinks/runtime/target.js'
import { Serdes, Window, Windowed, WindowedSerdes } from '../../topology/index.js'
import { keysUnder } from '../support/redis.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const run = testPrefix(import.meta.url)
const config = stackConfig()
const prefix = `${run}:`
const DAY = 24 * 60 * 60 * 1000
const topics = Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${run}.${outputId(n)}`])) as Record<
  OutputName,
  string
>

let serdes: ProcessorSerdes
let target: RedisSinkTarget
let read: RedisReadModel
const redis = new Redis(config.redis.url)

function newTarget(options: Partial<RedisSinkOptions> = {}): RedisSinkTarget {
  return new RedisSinkTarget({
    url: config.redis.url,
    serdes,
    name: 'redis-test',
    prefix,
    outputTopics: topics,
    ...options,
  })
}

beforeAll(async () => {
  serdes = await createProcessorSerdes(resolveProcessorConfig({ outputTopics: topics }), {
    encoding: 'single-object',
  })
  target = newTarget()
  await target.open()
  read = new RedisReadModel(redis, prefix)
})

afterAll(async () => {
  await target.reset()
  await target.close()
  const left = await keysUnder(redis, run)
  if (left.length > 0) await redis.unlink(...left)
  redis.disconnect()
})

// --- records -------------------------------------------------------------------------------------

const str = Serdes.String()

function fetched(
  output: OutputName,
  key: Buffer,
  value: object | null,
  offset: number,
  partition = 0,
): FetchedRecord {
  const topic = topics[output]
  return {
    topic,
    partition,
    offset,
    timestamp: 0,
    key,
    value: value === null ? null : (serdes.output<object>(output).serialize(topic, value) as Buffer),
    headers: new Map(),
  }
}

function decoded(t: RedisSinkTarget, r: FetchedRecord): DecodedRecord<RedisWrite> {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key,
    value: r.value === null ? null : t.decode(r),
  }
}

function batchOf(
  output: OutputName,
  records: FetchedRecord[],
  lastOffset = records.at(-1)?.offset ?? 0,
  partition = 0,
  t = target,
): PartitionBatch<RedisWrite> {
  return { topic: topics[output], partition, records: records.map((r) => decoded(t, r)), lastOffset }
}

const key = (id: string) => Buffer.from(id)
const timeKey = (group: string, start: number, size: number) =>
  windowedKey(size).serialize('', new Windowed(group, new Window(start, start + size))) as Buffer
const sessionKey = (group: string, start: number, end: number) =>
  WindowedSerdes.sessionWindowed(str).serialize('', new Windowed(group, new Window(start, end))) as Buffer

function agent(id: string, overrides: Partial<AgentSnapshot> = {}): AgentSnapshot {
  return {
    agent_id: id,
    status: 'IDLE',
    template_id: 'researcher',
    version: 2,
    name: `Agent ${id}`,
    model: null,
    capabilities: [
      { name: 'code-review', category: 'coding' },
      { name: 'search', category: 'research' },
    ],
    terminated_reason: null,
    created_at: 1_000,
    updated_at: 2_000,
    last_event_id: 'e1',
    events: 3,
    team_id: null,
    team_role: null,
    team_since: null,
    ...overrides,
  }
}

/** Every key under the prefix with its type, content and expiry: two dumps equal = same state. */
async function dump(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const k of await keysUnder(redis, prefix)) {
    const type = await redis.type(k)
    const expiry = await redis.call('PEXPIRETIME', k)
    let content: unknown
    if (type === 'hash') content = await redis.hgetall(k)
    else if (type === 'set') content = (await redis.smembers(k)).sort()
    else if (type === 'zset') content = await redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
    else content = await redis.get(k)
    out[k] = { type, expiry, content }
  }
  return out
}

// --- tests ---------------------------------------------------------------------------------------

describe('RedisSinkTarget', () => {
  it('writes an agent snapshot as a hash and indexes it by status, capability, category and template', async () => {
    const a = agent('a1', { model: 'gpt-x', team_id: 'tm1', team_role: 'LEADER', team_since: 1_500 })
    await target.apply([batchOf('agents', [fetched('agents', key('a1'), a, 0)])])

    expect(await read.getAgent('a1')).toEqual(a)
    expect(await redis.hgetall(`${prefix}agent:a1`)).toMatchObject({
      agent_id: 'a1',
      status: 'IDLE',
      version: '2',
      capabilities: JSON.stringify(a.capabilities),
      team_role: 'LEADER',
    })
    expect(await redis.hexists(`${prefix}agent:a1`, 'terminated_reason')).toBe(0)
    expect(await read.agentsByStatus('IDLE')).toEqual(['a1'])
    expect(await read.agentsByCapability('code-review')).toEqual(['a1'])
    expect(await read.agentsByCategory('research')).toEqual(['a1'])
    expect(await read.agentsByTemplate('researcher')).toEqual(['a1'])
    expect(await redis.smembers(`${prefix}agents:all`)).toEqual(['a1'])
    expect(await redis.get(`${prefix}sink-offset:redis-test:${topics.agents}:0`)).toBe('0')
  })

  it('moves an agent between index sets when its snapshot changes, in one batch with dedup', async () => {
    const busy = agent('a1', { status: 'BUSY', events: 4 })
    const moved = agent('a1', {
      status: 'OFFLINE',
      template_id: 'writer',
      capabilities: [{ name: 'search', category: 'research' }],
      events: 5,
    })
    await target.apply([
      batchOf('agents', [fetched('agents', key('a1'), busy, 1), fetched('agents', key('a1'), moved, 2)]),
    ])
    expect(await read.getAgent('a1')).toEqual(moved)
    expect(await read.agentsByStatus('IDLE')).toEqual([])
    expect(await read.agentsByStatus('BUSY')).toEqual([])
    expect(await read.agentsByStatus('OFFLINE')).toEqual(['a1'])
    expect(await read.agentsByCapability('code-review')).toEqual([])
    expect(await read.agentsByCategory('coding')).toEqual([])
    expect(await read.agentsByCategory('research')).toEqual(['a1'])
    expect(await read.agentsByTemplate('researcher')).toEqual([])
    expect(await read.agentsByTemplate('writer')).toEqual(['a1'])
  })

  it('changes nothing when the same batch is applied twice, or records at or below the stored offset', async () => {
    const records = [
      fetched('agents', key('a2'), agent('a2'), 3),
      fetched('agents', key('a2'), agent('a2', { status: 'BUSY' }), 4),
      fetched('agents', key('a3'), agent('a3', { template_id: null }), 5),
    ]
    await target.apply([batchOf('agents', records)])
    const before = await dump()
    await target.apply([batchOf('agents', records)])
    expect(await dump()).toEqual(before)

    // An older snapshot replayed at or below the stored offset (5): skipped; the offset is not lowered.
    await target.apply([
      batchOf('agents', [fetched('agents', key('a2'), agent('a2', { status: 'TERMINATED' }), 4)], 4),
    ])
    expect(await dump()).toEqual(before)
    expect((await read.getAgent('a2'))?.status).toBe('BUSY')
  })

  it('applies records at or below the stored offset in unguarded mode (the chaos test control), offset kept', async () => {
    const t = newTarget({ name: 'redis-unguarded', prefix: `${run}-unguarded:`, offsetMode: 'unguarded' })
    await t.open()
    try {
      await t.apply([
        batchOf('agents', [fetched('agents', key('u1'), agent('u1', { status: 'BUSY' }), 5)], 5, 0, t),
      ])
      await t.apply([
        batchOf('agents', [fetched('agents', key('u1'), agent('u1', { status: 'IDLE' }), 3)], 3, 0, t),
      ])
      expect(await redis.hget(`${run}-unguarded:agent:u1`, 'status')).toBe('IDLE')
      expect(await redis.get(`${run}-unguarded:sink-offset:redis-unguarded:${topics.agents}:0`)).toBe('5')
      // The audit counts both records: that is how the chaos test's control shows records applied twice.
      const audit = await t.audit([{ topic: topics.agents, partition: 0 }])
      expect(audit.get(partitionKey(topics.agents, 0))).toEqual({ offset: 5, applied: 2 })
    } finally {
      await t.reset()
      await t.close()
    }
  })

  it('moves the stored offset on an empty batch, and restart() returns the stored offsets', async () => {
    await target.apply([{ topic: topics.agents, partition: 0, records: [], lastOffset: 9 }])
    await target.apply([{ topic: topics.agents, partition: 3, records: [], lastOffset: 41 }])
    const offsets = await target.restart([
      { topic: topics.agents, partition: 0 },
      { topic: topics.agents, partition: 3 },
      { topic: topics.agents, partition: 5 },
    ])
    expect(offsets).toEqual(
      new Map([
        [partitionKey(topics.agents, 0), 9],
        [partitionKey(topics.agents, 3), 41],
      ]),
    )
  })

  it('deletes an entity and its index memberships on a tombstone', async () => {
    await target.apply([batchOf('agents', [fetched('agents', key('a3'), null, 10)])])
    expect(await read.getAgent('a3')).toBeNull()
    expect(await redis.smembers(`${prefix}agents:all`)).toEqual(expect.not.arrayContaining(['a3']))
    expect(await read.agentsByCapability('code-review')).toEqual(['a2'])
  })

  it('writes a team with its members and roles, and a task with its team and token use', async () => {
    const team: TeamSnapshot = {
      team_id: 'tm1',
      status: 'FORMED',
      task_id: 'k1',
      required_capabilities: ['search'],
      members: [
        { agent_id: 'a1', role: 'LEADER' },
        { agent_id: 'a2', role: 'REVIEWER' },
      ],
      formation_score: 0.75,
      inference_time_ms: 12.5,
      failure_reason: null,
      disband_reason: null,
      requested_at: 100,
      formed_at: 200,
      updated_at: 200,
      events: 2,
    }
    const task: TaskSnapshot = {
      task_id: 'k1',
      status: 'COMPLETED',
      priority: 'HIGH',
      required_capabilities: ['search'],
      token_budget: 1000,
      team_id: 'tm1',
      agent_ids: ['a1', 'a2'],
      tokens_by_agent: { a1: 300, a2: 200 },
      tokens_used: 500,
      created_at: 100,
      assigned_at: 150,
      started_at: 160,
      finished_at: 900,
      duration_ms: 740,
      error: null,
      cancel_reason: null,
      updated_at: 900,
      events: 4,
      outcome_event: true,
    }
    await target.apply([
      batchOf('teams', [fetched('teams', key('tm1'), team, 0)]),
      batchOf('tasks', [fetched('tasks', key('k1'), task, 0)], 0, 2),
    ])
    expect(await read.getTeam('tm1')).toEqual({ ...team, roles: { a1: 'LEADER', a2: 'REVIEWER' } })
    expect(await read.teamsByStatus('FORMED')).toEqual(['tm1'])
    expect(await read.getTask('k1')).toEqual(task)
    expect(await read.tasksOfTeam('tm1')).toEqual(['k1'])
    expect(await read.tasksByStatus('COMPLETED')).toEqual(['k1'])

    const shrunk = {
      ...team,
      status: 'DISBANDED' as const,
      members: [{ agent_id: 'a2', role: 'MEMBER' as const }],
    }
    await target.apply([batchOf('teams', [fetched('teams', key('tm1'), shrunk, 1)])])
    expect((await read.getTeam('tm1'))?.roles).toEqual({ a2: 'MEMBER' })
    expect(await read.teamsByStatus('FORMED')).toEqual([])
    expect(await read.teamsByStatus('DISBANDED')).toEqual(['tm1'])
  })

  it('writes windows with an expiry from the window end, a range index and the token leaderboard', async () => {
    const minute = 60_000
    const start = Math.floor(Date.now() / minute) * minute - 10 * minute
    const w = (agentId: string, s: number, tokens: number, offset: number) =>
      fetched(
        'tokensByAgent',
        timeKey(agentId, s, minute),
        { agent_id: agentId, window_start: s, window_end: s + minute, tokens },
        offset,
      )
    const records = [
      w('a1', start, 100, 0),
      w('a2', start, 250, 1),
      w('a3', start, 250, 2),
      w('a1', start + minute, 40, 3),
    ]
    // a1's first window updated later in the batch: the latest value wins.
    const update = w('a1', start, 300, 4)
    await target.apply([batchOf('tokensByAgent', [...records, update])])

    const windowKey = `${prefix}m:tokens_by_agent:a1:${start}`
    expect(await redis.hgetall(windowKey)).toEqual({
      agent_id: 'a1',
      window_start: String(start),
      window_end: String(start + minute),
      tokens: '300',
    })
    expect(await redis.call('PEXPIRETIME', windowKey)).toBe(start + minute + 7 * DAY)
    expect(await read.metricWindows('tokensByAgent', 'a1', start, start + 2 * minute)).toEqual([
      { agent_id: 'a1', window_start: start, window_end: start + minute, tokens: 300 },
      { agent_id: 'a1', window_start: start + minute, window_end: start + 2 * minute, tokens: 40 },
    ])
    expect(await read.metricWindows('tokensByAgent', 'a1', start + minute, start + 2 * minute)).toHaveLength(
      1,
    )
    // The groups index keeps each group's latest window start, whatever order the windows came in
    // (a1's earlier window was written last).
    expect(await read.metricGroups('tokensByAgent')).toEqual([
      { group: 'a1', latest_start: start + minute },
      { group: 'a2', latest_start: start },
      { group: 'a3', latest_start: start },
    ])
    expect(await read.leaderboard(start, 2)).toEqual([
      { agent_id: 'a1', tokens: 300, rank: 1 },
      { agent_id: 'a2', tokens: 250, rank: 2 },
    ])
    expect(await redis.call('PEXPIRETIME', `${prefix}lb:tokens_by_agent:${start}`)).toBe(
      start + minute + 7 * DAY,
    )
    expect(await redis.call('PEXPIRETIME', `${prefix}mi:tokens_by_agent:a1`)).toBe(
      start + 2 * minute + 7 * DAY,
    )

    // A window tombstone removes the value, its index entry and its leaderboard entry.
    await target.apply([
      batchOf('tokensByAgent', [fetched('tokensByAgent', timeKey('a2', start, minute), null, 5)]),
    ])
    expect(await redis.exists(`${prefix}m:tokens_by_agent:a2:${start}`)).toBe(0)
    expect((await read.leaderboard(start, 5)).map((e) => e.agent_id)).toEqual(['a1', 'a3'])
  })

  it('decodes hourly keys with the hopping size and session keys with their end; an old window expires at once', async () => {
    const hour = 3_600_000
    const start = Math.floor(Date.now() / hour) * hour
    const hourly = fetched(
      'teamFormationsHourly',
      timeKey('all', start, hour),
      {
        window_start: start,
        window_end: start + hour,
        formed: 3,
        failed: 1,
        success_rate: 0.75,
        failure_reasons: { none: 1 },
      },
      0,
    )
    const s0 = Date.now() - 60_000
    const session = (end: number, offset: number) =>
      fetched(
        'agentSessions',
        sessionKey('a1', s0, end),
        {
          agent_id: 'a1',
          window_start: s0,
          window_end: end,
          events: 2,
          first_event_at: s0,
          last_event_at: end,
          status_changes: 1,
        },
        offset,
      )
    const old = fetched(
      'teamFormations',
      timeKey('all', 0, 60_000),
      { window_start: 0, window_end: 60_000, formed: 1, failed: 0, success_rate: 1, failure_reasons: {} },
      0,
    )
    await target.apply([
      batchOf('teamFormationsHourly', [hourly]),
      batchOf('agentSessions', [session(s0 + 1000, 0), session(s0 + 5000, 1)]),
      batchOf('teamFormations', [old]),
    ])
    expect(await read.metricWindows('teamFormationsHourly', 'all', start, start + 1)).toEqual([
      {
        window_start: start,
        window_end: start + hour,
        formed: 3,
        failed: 1,
        success_rate: 0.75,
        failure_reasons: { none: 1 },
      },
    ])
    // The merged-away session gets a tombstone after its successor.
    await target.apply([
      batchOf('agentSessions', [fetched('agentSessions', sessionKey('a1', s0, s0 + 1000), null, 2)]),
    ])
    const sessions = await read.metricWindows('agentSessions', 'a1', s0, s0 + 1)
    expect(sessions.map((s) => s.window_end)).toEqual([s0 + 5000])
    expect(await redis.exists(`${prefix}m:team_formations:all:0`)).toBe(0)
    expect(await read.metricWindows('teamFormations', 'all', 0, 60_000)).toEqual([])
  })

  it('keeps the latest alerts, bounded, and idle capacity by capability', async () => {
    const t = newTarget({ name: 'redis-alerts', maxAlerts: 2 })
    await t.open()
    try {
      const alert = (n: number): Alert => ({
        alert_id: `TASK_NOT_STARTED/k${n}/${n}`,
        type: 'TASK_NOT_STARTED',
        severity: 'WARNING',
        subject_type: 'TASK',
        subject: `k${n}`,
        observed: 1000 + n,
        threshold: 1000,
        window_start: null,
        window_end: null,
        event_time: Date.now() + n,
        message: `task k${n} not started`,
        details: { team_id: 'tm1' },
      })
      // The last one is older than the alerts' retention (14 days): never listed.
      const alerts = [1, 2, 3].map((n) => alert(n))
      const stale = { ...alert(4), event_time: Date.now() - 15 * DAY }
      await t.apply([
        batchOf(
          'alerts',
          [...alerts, stale].map((a, i) => fetched('alerts', key(a.alert_id), a, i)),
          3,
          0,
          t,
        ),
      ])
      expect(await read.recentAlerts(10)).toEqual([alerts[2], alerts[1]])
      expect(
        await redis.exists(`${prefix}alert:${alerts[0]?.alert_id}`, `${prefix}alert:${stale.alert_id}`),
      ).toBe(0)

      const capacity = {
        capability: 'search',
        idle_agents: 4,
        busy_agents: 1,
        offline_agents: 0,
        unknown_agents: 0,
        agents: 5,
      }
      await t.apply([
        batchOf(
          'idleAgentsByCapability',
          [fetched('idleAgentsByCapability', key('search'), capacity, 0)],
          0,
          0,
          t,
        ),
      ])
      expect(await read.capacity('search')).toEqual(capacity)
      expect(await redis.zscore(`${prefix}capacity:idle`, 'search')).toBe('4')
    } finally {
      await t.close()
    }
  })

  it('throws in decode on a poison value', () => {
    const poison = { ...fetched('agents', key('p'), agent('p'), 0), value: Buffer.from('not avro') }
    expect(() => target.decode(poison)).toThrow()
    const badKey = {
      ...fetched('tokensByAgent', key('x'), { agent_id: 'x', window_start: 0, window_end: 1, tokens: 1 }, 0),
    }
    expect(() => target.decode(badKey)).toThrow(/windowed key/)
  })

  it('classifies real failures: refused connection, bad credentials, a value of the wrong type', async () => {
    const refused = newTarget({ url: 'redis://127.0.0.1:1', redisOptions: { retryStrategy: () => null } })
    const e1 = await refused.open().catch((e: unknown) => e)
    expect(refused.classify(e1)).toBe('transient')
    await refused.close()

    const url = new URL(config.redis.url)
    url.username = `${run}-nobody`
    url.password = 'wrong'
    const denied = newTarget({ url: url.toString(), redisOptions: { retryStrategy: () => null } })
    const e2 = await denied.open().catch((e: unknown) => e)
    expect(String(e2)).toMatch(/WRONGPASS/)
    expect(denied.classify(e2)).toBe('fatal')
    await denied.close()

    const start = 120_000
    await redis.set(`${prefix}lb:tokens_by_agent:${start}`, 'not a zset')
    const record = fetched(
      'tokensByAgent',
      timeKey('a9', start, 60_000),
      { agent_id: 'a9', window_start: start, window_end: start + 60_000, tokens: 1 },
      100,
    )
    const e3 = await target.apply([batchOf('tokensByAgent', [record])]).catch((e: unknown) => e)
    expect(String(e3)).toMatch(/WRONGTYPE/)
    expect(target.classify(e3)).toBe('data')
    expect(await redis.get(`${prefix}sink-offset:redis-test:${topics.tokensByAgent}:0`)).toBe('5')
  })

  it('fails fast and transient while Redis is unreachable, then applies again once it is back', async () => {
    const redisUrl = new URL(config.redis.url)
    const sockets = new Set<Socket>()
    const listen = (port: number) =>
      new Promise<Server>((resolve) => {
        const server = createServer((client) => {
          const upstream = tcpConnect(Number(redisUrl.port || 6379), redisUrl.hostname)
          for (const s of [client, upstream]) {
            sockets.add(s)
            s.on('error', () => s.destroy())
            s.on('close', () => sockets.delete(s))
          }
          client.pipe(upstream).pipe(client)
        })
        server.listen(port, '127.0.0.1', () => resolve(server))
      })
    let proxy = await listen(0)
    const port = (proxy.address() as { port: number }).port
    const url = new URL(config.redis.url)
    url.hostname = '127.0.0.1'
    url.port = String(port)
    const t = newTarget({ name: 'redis-outage', url: url.toString() })
    await t.open()
    try {
      await t.apply([{ topic: topics.teams, partition: 7, records: [], lastOffset: 1 }])
      // Redis goes away: the proxy stops listening and drops its connections.
      const closed = new Promise((r) => proxy.close(r as () => void))
      for (const s of sockets) s.destroy()
      await closed
      await new Promise((r) => setTimeout(r, 50))
      const began = performance.now()
      const error = await t
        .apply([{ topic: topics.teams, partition: 7, records: [], lastOffset: 2 }])
        .catch((e: unknown) => e)
      expect(performance.now() - began).toBeLessThan(1000)
      expect(error).toBeInstanceOf(Error)
      expect(t.classify(error)).toBe('transient')
      expect(await t.ping()).toBe(false)
      // Back: the client reconnects by itself. Redis may have come back behind what it acknowledged,
      // so the target refuses to apply (transient) until the stored offsets were read again.
      proxy = await listen(port)
      await expect.poll(() => t.ping(), { timeout: 10_000 }).toBe(true)
      const refused = await t
        .apply([{ topic: topics.teams, partition: 7, records: [], lastOffset: 2 }])
        .catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(RedisReconnectedError)
      expect(t.classify(refused)).toBe('transient')
      expect(await t.restart([{ topic: topics.teams, partition: 7 }])).toEqual(
        new Map([[partitionKey(topics.teams, 7), 1]]),
      )
      await t.apply([{ topic: topics.teams, partition: 7, records: [], lastOffset: 2 }])
      expect(await redis.get(`${prefix}sink-offset:redis-outage:${topics.teams}:7`)).toBe('2')
    } finally {
      await t.close()
      const closed = new Promise((r) => proxy.close(r as () => void))
      for (const s of sockets) s.destroy()
      await closed
    }
  })

  it('resets its prefix only: data and its own offsets, not another prefix nor another sink', async () => {
    const otherPrefix = `${run}-other:`
    await redis.set(`${otherPrefix}agent:x`, '1')
    await redis.set(`${prefix}sink-offset:another-sink:${topics.agents}:0`, '7')
    const r = newTarget({ name: 'redis-reset' })
    await r.open()
    try {
      await r.apply([{ topic: topics.agents, partition: 0, records: [], lastOffset: 3 }])
      await target.reset()
      await r.reset()
      // Left: the offsets of the other sinks under the prefix (redis-alerts wrote two, redis-outage one),
      // with their audit counts.
      const left = await keysUnder(redis, prefix)
      const audits = left.filter((k) => k.endsWith(':applied'))
      expect(audits.length).toBeGreaterThan(0)
      for (const key of audits) expect(left).toContain(key.slice(0, -':applied'.length))
      expect(left.filter((k) => !k.endsWith(':applied'))).toEqual([
        `${prefix}sink-offset:another-sink:${topics.agents}:0`,
        `${prefix}sink-offset:redis-alerts:${topics.alerts}:0`,
        `${prefix}sink-offset:redis-alerts:${topics.idleAgentsByCapability}:0`,
        `${prefix}sink-offset:redis-outage:${topics.teams}:7`,
      ])
      expect(await redis.get(`${otherPrefix}agent:x`)).toBe('1')
      expect(await target.restart([{ topic: topics.agents, partition: 0 }])).toEqual(new Map())
      expect(await target.ping()).toBe(true)
    } finally {
      await r.close()
      await redis.del(`${otherPrefix}agent:x`, `${prefix}sink-offset:another-sink:${topics.agents}:0`)
    }
  })
})

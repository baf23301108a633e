// The API against the whole pipeline of this file (its own topics, groups, Redis prefix and sink ids):
// generated events through the processors and the Neo4j and Redis sinks, then every read route
// compared with the last records of the output topics, POST /events seen end to end in Redis and
// Neo4j, the reset refused while the pipeline runs, and /metrics (route patterns, lag of the groups).
// Every answer is checked against its route's response schema in the OpenAPI document (TestApi).

import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerBusinessMetrics } from '../../api/business-metrics.js'
import { loadConfig } from '../../config/config.js'
import { describeTopology } from '../../processors/describe.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import type { Neo4jSinkTarget } from '../../sinks/neo4j/target.js'
import { RedisReadModel } from '../../sinks/redis/read-model.js'
import type { RedisSinkTarget } from '../../sinks/redis/target.js'
import { type RunningSinks, startSinks } from '../../sinks/run-sinks.js'
import { TestApi } from '../support/api.js'
import { SinkPipeline } from '../support/sink-pipeline.js'

const pipeline = new SinkPipeline(import.meta.url)
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v))

let sinks: RunningSinks
let api: TestApi
let targets: { neo4j: Neo4jSinkTarget; redis: RedisSinkTarget }
let agents: AgentSnapshot[]
let teams: TeamSnapshot[]
let tasks: TaskSnapshot[]

beforeAll(async () => {
  await pipeline.setup()
  await pipeline.startProcessor()
  const env = pipeline.sinkEnv({ LOG_LEVEL: 'warn', LAG_POLL_MS: '500' })
  sinks = await startSinks(loadConfig(env), {
    sinks: ['neo4j', 'redis'],
    processor: pipeline.processor,
    metricsPort: 0,
  })
  api = await TestApi.start(env, { processor: pipeline.processor, eventTopics: pipeline.topics })
  await pipeline.produce(1500, 3000)
  await pipeline.finishProcessor()
  const log = await pipeline.readLog(Object.values(pipeline.outputTopics))
  targets = await pipeline.targets()
  await pipeline.waitCaughtUp(targets.neo4j, log, 120_000)
  await pipeline.waitCaughtUp(targets.redis, log, 120_000)
  const values = async <T>(name: 'agents' | 'teams' | 'tasks') =>
    [...(await pipeline.lastValues<T>(name, log)).values()].flatMap((e) => (e.value ? [plain(e.value)] : []))
  agents = await values<AgentSnapshot>('agents')
  teams = await values<TeamSnapshot>('teams')
  tasks = await values<TaskSnapshot>('tasks')
}, 300_000)

afterAll(async () => {
  await api?.close()
  await sinks?.close()
  // Not the Neo4j sink's reset: it clears the graph that other files share. This file's ids are its own.
  await targets?.redis.reset().catch(() => {})
  await targets?.neo4j.close()
  await targets?.redis.close()
  await pipeline.cleanUp()
}, 120_000)

const sample = <T>(list: T[], n: number) =>
  list.filter((_, i) => i % Math.max(1, Math.floor(list.length / n)) === 0)

describe('entity reads', () => {
  it('answers each agent, team and task as the last snapshot in its output topic', async () => {
    expect(agents.length).toBeGreaterThan(20)
    for (const agent of sample(agents, 15)) {
      const got = await api.request('GET', `/agents/${encodeURIComponent(agent.agent_id)}`, {
        role: 'viewer',
      })
      expect(got.status).toBe(200)
      expect(got.body).toEqual(agent)
    }
    for (const team of sample(teams, 10)) {
      const got = await api.request('GET', `/teams/${encodeURIComponent(team.team_id)}`, { role: 'viewer' })
      expect(got.status).toBe(200)
      const { roles, ...snapshot } = got.body
      expect(snapshot).toEqual(team)
      expect(roles).toEqual(Object.fromEntries(team.members.map((m) => [m.agent_id, m.role])))
    }
    for (const task of sample(tasks, 10)) {
      const got = await api.request('GET', `/tasks/${encodeURIComponent(task.task_id)}`, { role: 'viewer' })
      expect(got.status).toBe(200)
      expect(got.body).toEqual(task)
    }
  })

  it('answers 404 with the error shape for an unknown id', async () => {
    const got = await api.request('GET', '/agents/no-such-agent', { role: 'viewer' })
    expect(got.status).toBe(404)
    expect(got.body).toMatchObject({ statusCode: 404, code: 'AGENT_NOT_FOUND' })
  })

  it('lists agents by status and by all of several capabilities, paged, as the snapshots say', async () => {
    const status = agents[0]?.status as string
    const byStatus = agents
      .filter((a) => a.status === status)
      .map((a) => a.agent_id)
      .sort()
    const first = await api.request('GET', `/agents?status=${status}&limit=5`, { role: 'viewer' })
    expect(first.body.total).toBe(byStatus.length)
    expect(first.body.items.map((a: AgentSnapshot) => a.agent_id)).toEqual(byStatus.slice(0, 5))
    const second = await api.request('GET', `/agents?status=${status}&limit=5&offset=5`, { role: 'viewer' })
    expect(second.body.items.map((a: AgentSnapshot) => a.agent_id)).toEqual(byStatus.slice(5, 10))

    const withCaps = agents.find((a) => a.capabilities.length >= 2) as AgentSnapshot
    const [c1, c2] = withCaps.capabilities.map((c) => c.name)
    const expected = agents
      .filter((a) => a.capabilities.some((c) => c.name === c1) && a.capabilities.some((c) => c.name === c2))
      .map((a) => a.agent_id)
      .sort()
    const got = await api.request('GET', `/agents?capability=${c1}&capability=${c2}&limit=1000`, {
      role: 'viewer',
    })
    expect(got.body.items.map((a: AgentSnapshot) => a.agent_id)).toEqual(expected)
    const all = await api.request('GET', '/agents?limit=1', { role: 'viewer' })
    expect(all.body.total).toBe(agents.length)
  })

  it('lists the tasks of a team', async () => {
    const team = tasks.find((t) => t.team_id !== null)?.team_id as string
    const expected = tasks
      .filter((t) => t.team_id === team)
      .map((t) => t.task_id)
      .sort()
    const got = await api.request('GET', `/tasks?team=${encodeURIComponent(team)}`, { role: 'viewer' })
    expect(got.body.items.map((t: TaskSnapshot) => t.task_id)).toEqual(expected)
  })

  it('refuses a bad query with 400 naming the field', async () => {
    const got = await api.request('GET', '/agents?limit=5000', { role: 'viewer' })
    expect(got.status).toBe(400)
    expect(got.body.code).toBe('VALIDATION_FAILED')
    expect(got.body.details).toEqual([expect.objectContaining({ field: 'limit' })])
  })
})

describe('graph reads', () => {
  it("answers a team's members, roles and tasks from Neo4j as the snapshots say", async () => {
    const team = teams.find(
      (t) => t.members.length > 0 && tasks.some((k) => k.team_id === t.team_id),
    ) as TeamSnapshot
    const got = await api.request('GET', `/graph/teams/${encodeURIComponent(team.team_id)}`, {
      role: 'viewer',
    })
    expect(got.status).toBe(200)
    expect(got.body.team).toEqual({ id: team.team_id, status: team.status })
    expect(got.body.members.map((m: { id: string; role: string }) => [m.id, m.role])).toEqual(
      team.members.map((m) => [m.agent_id, m.role]),
    )
    expect(got.body.tasks.map((k: { id: string }) => k.id)).toEqual(
      tasks
        .filter((k) => k.team_id === team.team_id)
        .map((k) => k.task_id)
        .sort(),
    )
  })

  it('finds the idle agents having all of a set of capabilities', async () => {
    // The generated run (its seed is the file's prefix) decides the statuses, and in some runs no agent
    // ends idle: the capabilities of an idle agent when there is one (the answer must then hold it),
    // else of any agent (the answer must then hold none of this file's agents, busy ones included).
    const capable = agents.filter((a) => a.capabilities.length > 0)
    expect(capable.length).toBeGreaterThan(0)
    const probe = (capable.find((a) => a.status === 'IDLE') ?? capable[0]) as AgentSnapshot
    const names = probe.capabilities.map((c) => c.name)
    const query = names.map((n) => `capability=${encodeURIComponent(n)}`).join('&')
    const got = await api.request('GET', `/graph/idle-agents?${query}&limit=1000`, { role: 'viewer' })
    const mine = new Set(agents.map((a) => a.agent_id))
    const expected = capable
      .filter((a) => a.status === 'IDLE' && names.every((n) => a.capabilities.some((c) => c.name === n)))
      .map((a) => a.agent_id)
    if (probe.status === 'IDLE') expect(expected).toContain(probe.agent_id)
    // Other files' agents may share capability names: compare this file's agents.
    const found = got.body.agents.map((a: { id: string }) => a.id).filter((id: string) => mine.has(id))
    expect(found.sort()).toEqual(expected.sort())
  })
})

describe('windowed results', () => {
  it('lists the groups of an output and answers their windows as the output topic says', async () => {
    const log = await pipeline.readLog([pipeline.outputTopics.agentInstantiations])
    const last = await pipeline.lastValues<{
      template_id: string
      version: number
      window_start: number
      window_end: number
    }>('agentInstantiations', log)
    const windows = [...last.values()].flatMap((e) => (e.value ? [plain(e.value)] : []))
    expect(windows.length).toBeGreaterThan(0)
    const groups = await api.request('GET', '/windows/agent_instantiations/groups', { role: 'viewer' })
    const expectedGroups = [...new Set(windows.map((w) => `${w.template_id}@${w.version}`))].sort()
    expect(groups.body.groups.map((g: { group: string }) => g.group)).toEqual(expectedGroups)
    const group = expectedGroups[0] as string
    const from = Math.min(...windows.map((w) => w.window_start))
    const got = await api.request(
      'GET',
      `/windows/agent_instantiations?group=${encodeURIComponent(group)}&from=${from}&to=${new Date(Date.now() + 60_000).toISOString()}`,
      { role: 'viewer' },
    )
    expect(got.status).toBe(200)
    const expected = windows
      .filter((w) => `${w.template_id}@${w.version}` === group)
      .sort((a, b) => a.window_start - b.window_start)
    expect(got.body.windows).toEqual(expected)
  })

  it('ranks the token leaderboard of the latest window from tokens_by_agent', async () => {
    const log = await pipeline.readLog([pipeline.outputTopics.tokensByAgent])
    const last = await pipeline.lastValues<{ agent_id: string; window_start: number; tokens: number }>(
      'tokensByAgent',
      log,
    )
    const windows = [...last.values()].flatMap((e) => (e.value ? [plain(e.value)] : []))
    const latest = Math.max(...windows.map((w) => w.window_start))
    const expected = windows
      .filter((w) => w.window_start === latest)
      .sort((a, b) => b.tokens - a.tokens || (a.agent_id < b.agent_id ? -1 : 1))
      .slice(0, 5)
      .map((w, i) => ({ agent_id: w.agent_id, tokens: w.tokens, rank: i + 1 }))
    const got = await api.request('GET', '/leaderboard?limit=5', { role: 'viewer' })
    expect(got.body).toEqual({ period: '1m', window_start: latest, entries: expected })
  })

  it('refuses a window range of more than 8 days or upside down', async () => {
    const long = await api.request('GET', '/windows/agent_instantiations?group=x&from=0&to=864000000', {
      role: 'viewer',
    })
    expect(long.status).toBe(400)
    const reversed = await api.request('GET', '/windows/agent_instantiations?group=x&from=2000&to=1000', {
      role: 'viewer',
    })
    expect(reversed.status).toBe(400)
    const bad = await api.request('GET', '/windows/agent_instantiations?group=x&from=yesterday', {
      role: 'viewer',
    })
    expect(bad.body.details).toEqual([expect.objectContaining({ field: 'from' })])
    const unknown = await api.request('GET', '/windows/no_such_output?group=x', { role: 'viewer' })
    expect(unknown.status).toBe(400)
  })
})

describe('business gauges', () => {
  it('shows the windowed results of the latest closed window, as the output topics say', async () => {
    const log = await pipeline.readLog([
      pipeline.outputTopics.agentInstantiations,
      pipeline.outputTopics.taskOutcomes,
    ])
    const instantiations = [
      ...(
        await pipeline.lastValues<{
          template_id: string
          version: number
          window_start: number
          per_minute: number
        }>('agentInstantiations', log)
      ).values(),
    ].flatMap((e) => (e.value ? [plain(e.value)] : []))
    const outcomes = [
      ...(
        await pipeline.lastValues<{ priority: string; window_start: number; completion_rate: number }>(
          'taskOutcomes',
          log,
        )
      ).values(),
    ].flatMap((e) => (e.value ? [plain(e.value)] : []))
    // The window with most groups, seen from just after it closed.
    const starts = instantiations.map((w) => w.window_start)
    const start = starts.sort(
      (a, b) => starts.filter((x) => x === b).length - starts.filter((x) => x === a).length,
    )[0] as number
    const registry = new Registry()
    registerBusinessMetrics({
      registry,
      readModel: new RedisReadModel(targets.redis.redis, `${pipeline.prefix}:`),
      now: () => start + 60_000 + 1,
    })
    const metrics = await registry.getMetricsAsJSON()
    const values = (name: string) =>
      (metrics.find((m) => m.name === name)?.values ?? [])
        .map((v) => ({ labels: v.labels, value: v.value }))
        .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)))
    const expected = instantiations
      .filter((w) => w.window_start === start)
      .map((w) => ({
        labels: { template_id: w.template_id, version: String(w.version) },
        value: w.per_minute,
      }))
      .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)))
    expect(expected.length).toBeGreaterThan(0)
    expect(values('agent_party_agent_instantiations_per_minute')).toEqual(expected)
    expect(values('agent_party_task_completion_ratio')).toEqual(
      outcomes
        .filter((w) => w.window_start === start)
        .map((w) => ({ labels: { priority: w.priority }, value: w.completion_rate }))
        .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels))),
    )
    expect(values('agent_party_business_metrics_window_start_seconds')).toEqual([
      { labels: {}, value: start / 1000 },
    ])
  })
})

describe('topology', () => {
  it("answers the processors' topology as text and as Mermaid", async () => {
    const expected = describeTopology(pipeline.processor)
    const text = await api.request('GET', '/topology', { role: 'viewer' })
    expect(text.body).toEqual({ format: 'text', topology: expected.text })
    const mermaid = await api.request('GET', '/topology?format=mermaid', { role: 'viewer' })
    expect(mermaid.body.topology).toMatch(/^flowchart/)
  })
})

describe('metrics', () => {
  it('labels request durations by route pattern and exports the lag of the sink groups, 0 once caught up', async () => {
    await api.request('GET', `/agents/${encodeURIComponent(agents[0]?.agent_id as string)}`, {
      role: 'viewer',
    })
    const group = `${pipeline.prefix}-sink-redis`
    let text = ''
    for (let i = 0; i < 40; i++) {
      text = (await api.request('GET', '/metrics')).body as string
      if (new RegExp(`kafka_consumergroup_lag\\{consumergroup="${group}"`).test(text)) break
      await new Promise((r) => setTimeout(r, 250))
    }
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",endpoint="\/agents\/:id",status="200"\} \d+/,
    )
    expect(text).not.toMatch(/endpoint="\/agents\/[^:]/)
    const lags = [
      ...text.matchAll(
        new RegExp(`^kafka_consumergroup_lag\\{consumergroup="${group}",[^}]*\\} (\\d+)$`, 'gm'),
      ),
    ]
    expect(lags.length).toBeGreaterThan(0)
    expect(lags.map((m) => Number(m[1]))).toEqual(lags.map(() => 0))
    expect(text).toMatch(/^process_cpu_seconds_total/m)
  })
})

describe('ingest and operations', () => {
  it('makes a posted event visible in Redis and in Neo4j through the processors and sinks', async () => {
    await pipeline.startProcessor()
    const capability = `cap-${pipeline.prefix}`
    const agentId = `agent-${pipeline.prefix}`
    const posted = await api.request('POST', '/events', {
      role: 'operator',
      json: {
        type: 'AgentCreated',
        agent_id: agentId,
        occurred_at: new Date().toISOString(),
        template_id: 'tpl-api',
        version: 2,
        name: 'api-agent',
        capabilities: [{ name: capability, category: 'testing' }],
      },
    })
    expect(posted.status).toBe(202)
    expect(posted.body).toMatchObject({
      type: 'AgentCreated',
      key: agentId,
      topic: pipeline.topics.agent_events,
    })
    let agent: { status: number; body: AgentSnapshot } | undefined
    let graph: { status: number; body: { agents: { id: string }[] } } | undefined
    for (let i = 0; i < 120; i++) {
      agent = await api.request('GET', `/agents/${agentId}`, { role: 'viewer' })
      graph = await api.request('GET', `/graph/idle-agents?capability=${capability}`, { role: 'viewer' })
      if (agent.status === 200 && graph.body.agents.length > 0) break
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(agent?.body).toMatchObject({
      agent_id: agentId,
      status: 'IDLE',
      template_id: 'tpl-api',
      version: 2,
    })
    expect(graph?.body.agents.map((a) => a.id)).toEqual([agentId])
  }, 120_000)

  it('answers 400 listing every invalid field of an event, and writes nothing', async () => {
    const got = await api.request('POST', '/events', {
      role: 'operator',
      json: { type: 'AgentCreated', agent_id: 'a', version: 'two', colour: 'red' },
    })
    expect(got.status).toBe(400)
    expect(got.body.code).toBe('VALIDATION_FAILED')
    const fields = got.body.details.map((d: { field: string }) => d.field).sort()
    expect(fields).toEqual(
      expect.arrayContaining(['capabilities', 'colour', 'name', 'template_id', 'version']),
    )
  })

  it('refuses the reset while the processor and the sinks run, changing nothing', async () => {
    const got = await api.request('POST', '/admin/reset', { role: 'admin', json: {} })
    expect(got.status).toBe(409)
    expect(got.body).toMatchObject({ code: 'RESET_REFUSED' })
    expect(got.body.message).toContain(pipeline.processor.applicationId)
  })

  it('refuses a replay while the pipeline runs (no job left behind), and knows no such job', async () => {
    const got = await api.request('POST', '/admin/replay', { role: 'admin', json: { sinks: ['redis'] } })
    expect(got.status).toBe(409)
    expect(got.body).toMatchObject({ code: 'RESET_REFUSED' })
    expect(got.body.message).toContain('a replay needs the pipeline stopped')
    const unknown = await api.request('GET', '/admin/replay/6f1c4c8e-2a56-4a8e-9c39-0d4f1f0b9d11', {
      role: 'admin',
    })
    expect(unknown.status).toBe(404)
    expect(
      (await api.request('GET', '/admin/replay/6f1c4c8e-2a56-4a8e-9c39-0d4f1f0b9d11', { role: 'operator' }))
        .status,
    ).toBe(403)
  })
})

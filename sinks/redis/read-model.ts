// The reads the API serves from the Redis read model (issue 10), over the layout the Redis sink
// writes (keys.ts, README.md): entities by id and by index, windowed results by range, the token
// leaderboard, recent alerts. Values come back as the processors emitted them (hash-codec.ts).
import type { Redis } from 'ioredis'
import type { Alert } from '../../processors/alerts/alert.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import type { IdleAgentsByCapability } from '../../processors/joins/idle-capacity.js'
import type { OutputName } from '../../processors/outputs.js'
import { decodeHash } from './hash-codec.js'
import { DEFAULT_PREFIX, RedisKeys } from './keys.js'

export interface WindowValue {
  readonly window_start: number
  readonly window_end: number
  readonly [field: string]: unknown
}

export interface LeaderboardEntry {
  readonly agent_id: string
  readonly tokens: number
  /** 1 for the most tokens; equal tokens are ranked by agent id, the smaller first. */
  readonly rank: number
}

export class RedisReadModel {
  readonly keys: RedisKeys

  constructor(
    readonly redis: Redis,
    prefix: string = DEFAULT_PREFIX,
  ) {
    this.keys = new RedisKeys(prefix)
  }

  async getAgent(id: string): Promise<AgentSnapshot | null> {
    return this.#entity<AgentSnapshot>('agents', this.keys.agent(id))
  }

  /** Agents by id, in the order given; ids with no agent are left out. */
  async getAgents(ids: readonly string[]): Promise<AgentSnapshot[]> {
    return this.#entities<AgentSnapshot>(
      'agents',
      ids.map((id) => this.keys.agent(id)),
    )
  }

  /** Teams by id (without roles: members are in each snapshot), in the order given. */
  async getTeams(ids: readonly string[]): Promise<TeamSnapshot[]> {
    return this.#entities<TeamSnapshot>(
      'teams',
      ids.map((id) => this.keys.team(id)),
    )
  }

  /** Tasks by id, in the order given. */
  async getTasks(ids: readonly string[]): Promise<TaskSnapshot[]> {
    return this.#entities<TaskSnapshot>(
      'tasks',
      ids.map((id) => this.keys.task(id)),
    )
  }

  async allAgents(): Promise<string[]> {
    return this.#members(this.keys.agentsAll())
  }

  async allTeams(): Promise<string[]> {
    return this.#members(this.keys.teamsAll())
  }

  async allTasks(): Promise<string[]> {
    return this.#members(this.keys.tasksAll())
  }

  async agentsByStatus(status: string): Promise<string[]> {
    return this.#members(this.keys.agentsByStatus(status))
  }

  async agentsByCapability(capability: string): Promise<string[]> {
    return this.#members(this.keys.agentsByCapability(capability))
  }

  async agentsByCategory(category: string): Promise<string[]> {
    return this.#members(this.keys.agentsByCategory(category))
  }

  async agentsByTemplate(template: string): Promise<string[]> {
    return this.#members(this.keys.agentsByTemplate(template))
  }

  /** Agents having every one of the capabilities (SINTER), sorted. */
  async agentsWithCapabilities(capabilities: readonly string[]): Promise<string[]> {
    if (capabilities.length === 0) return []
    const ids = await this.redis.sinter(...capabilities.map((c) => this.keys.agentsByCapability(c)))
    return ids.sort()
  }

  /** A team with its members' roles (agent id -> role). */
  async getTeam(id: string): Promise<(TeamSnapshot & { roles: Record<string, string> }) | null> {
    const [team, roles] = await Promise.all([
      this.#entity<TeamSnapshot>('teams', this.keys.team(id)),
      this.redis.hgetall(this.keys.teamMembers(id)),
    ])
    return team === null ? null : { ...team, roles }
  }

  async teamsByStatus(status: string): Promise<string[]> {
    return this.#members(this.keys.teamsByStatus(status))
  }

  /** A task with its team and token use (team_id, tokens_used, tokens_by_agent). */
  async getTask(id: string): Promise<TaskSnapshot | null> {
    return this.#entity<TaskSnapshot>('tasks', this.keys.task(id))
  }

  async tasksByStatus(status: string): Promise<string[]> {
    return this.#members(this.keys.tasksByStatus(status))
  }

  async tasksOfTeam(team: string): Promise<string[]> {
    return this.#members(this.keys.tasksByTeam(team))
  }

  async capacity(capability: string): Promise<IdleAgentsByCapability | null> {
    const hash = await this.redis.hgetall(this.keys.capacity(capability))
    return Object.keys(hash).length === 0 ? null : decodeHash('idleAgentsByCapability', hash)
  }

  /** The groups that have windows of an output, with the start of each one's latest window written. */
  async metricGroups(output: OutputName, limit = 1000): Promise<{ group: string; latest_start: number }[]> {
    const flat = await this.redis.zrevrange(this.keys.groups(output), 0, limit - 1, 'WITHSCORES')
    const out: { group: string; latest_start: number }[] = []
    for (let i = 0; i < flat.length; i += 2)
      out.push({ group: flat[i] as string, latest_start: Number(flat[i + 1]) })
    return out.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0))
  }

  /** The start of the latest window written for any group of an output; null when none is. */
  async latestWindowStart(output: OutputName): Promise<number | null> {
    const [, score] = await this.redis.zrevrange(this.keys.groups(output), 0, 0, 'WITHSCORES')
    return score === undefined ? null : Number(score)
  }

  /** The windows of one (output, group) whose start is in [from, to). */
  async metricWindows(output: OutputName, group: string, from: number, to: number): Promise<WindowValue[]> {
    const ids = await this.redis.zrangebyscore(this.keys.windows(output, group), from, `(${to}`)
    if (ids.length === 0) return []
    const pipeline = this.redis.pipeline()
    for (const id of ids) pipeline.hgetall(this.keys.window(output, group, id))
    const replies = (await pipeline.exec()) ?? []
    const out: WindowValue[] = []
    for (const [error, hash] of replies) {
      if (error) throw error
      // A window whose key expired before its index entry was trimmed.
      if (hash && Object.keys(hash).length > 0)
        out.push(decodeHash<WindowValue>(output, hash as Record<string, string>))
    }
    return out
  }

  /** The agents with most tokens in one window of tokens_by_agent (or its hourly variant). */
  async leaderboard(
    windowStart: number,
    limit = 10,
    output: Extract<OutputName, 'tokensByAgent' | 'tokensByAgentHourly'> = 'tokensByAgent',
  ): Promise<LeaderboardEntry[]> {
    const key = this.keys.leaderboard(output, windowStart)
    // Scores descending, agent ids ascending within a score: ZREVRANGE orders ties by member
    // descending, so the ties of the last score read are fetched whole and the list sorted here.
    if (limit <= 0) return []
    const flat = await this.redis.zrevrange(key, 0, limit - 1, 'WITHSCORES')
    const entries = new Map<string, number>()
    for (let i = 0; i < flat.length; i += 2) entries.set(flat[i] as string, Number(flat[i + 1]))
    if (flat.length > 0) {
      const last = flat[flat.length - 1] as string
      for (const id of await this.redis.zrangebyscore(key, last, last)) entries.set(id, Number(last))
    }
    const sorted = [...entries].map(([agent_id, tokens]) => ({ agent_id, tokens }))
    sorted.sort(
      (a, b) => b.tokens - a.tokens || (a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0),
    )
    return sorted.slice(0, limit).map((e, i) => ({ ...e, rank: i + 1 }))
  }

  /** The latest alerts, newest first. */
  async recentAlerts(limit = 50): Promise<Alert[]> {
    const ids = await this.redis.zrevrange(this.keys.alerts(), 0, limit - 1)
    if (ids.length === 0) return []
    const pipeline = this.redis.pipeline()
    for (const id of ids) pipeline.hgetall(this.keys.alert(id))
    const replies = (await pipeline.exec()) ?? []
    const out: Alert[] = []
    for (const [error, hash] of replies) {
      if (error) throw error
      if (hash && Object.keys(hash).length > 0)
        out.push(decodeHash<Alert>('alerts', hash as Record<string, string>))
    }
    return out
  }

  async #entity<T>(output: OutputName, key: string): Promise<T | null> {
    const hash = await this.redis.hgetall(key)
    return Object.keys(hash).length === 0 ? null : decodeHash<T>(output, hash)
  }

  async #entities<T>(output: OutputName, keys: readonly string[]): Promise<T[]> {
    if (keys.length === 0) return []
    const pipeline = this.redis.pipeline()
    for (const key of keys) pipeline.hgetall(key)
    const out: T[] = []
    for (const [error, hash] of (await pipeline.exec()) ?? []) {
      if (error) throw error
      if (hash && Object.keys(hash).length > 0)
        out.push(decodeHash<T>(output, hash as Record<string, string>))
    }
    return out
  }

  async #members(key: string): Promise<string[]> {
    return (await this.redis.smembers(key)).sort()
  }
}

// Turns one output record (a decoded value, or a tombstone) into the ops of the apply script
// (apply-script.ts): the writes of the read model's layout (keys.ts, README.md). Pure: no Redis here,
// so a poison record fails in decode (a dead letter) before any batch reaches Redis.

import type { Alert } from '../../processors/alerts/alert.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import type { IdleAgentsByCapability } from '../../processors/joins/idle-capacity.js'
import type { OutputName } from '../../processors/outputs.js'
import { windowedKey } from '../../processors/windowed-key.js'
import { type Serde, Serdes, type Windowed, WindowedSerdes } from '../../topology/index.js'
import { encodeHashFields } from './hash-codec.js'
import { type RedisKeys, windowId } from './keys.js'

/** One op of the apply script: its code, its argument count, its arguments. */
export type Op = readonly string[]

/** What the sink decodes a record into: the script ops that apply it. */
export interface RedisWrite {
  readonly output: OutputName
  readonly ops: readonly Op[]
}

/** The outputs the Redis sink reads, and how. */
export type RedisOutputKind = 'agents' | 'teams' | 'tasks' | 'capacity' | 'alerts' | 'window' | 'session'

export const REDIS_OUTPUTS: Readonly<Partial<Record<OutputName, RedisOutputKind>>> = {
  agents: 'agents',
  teams: 'teams',
  tasks: 'tasks',
  idleAgentsByCapability: 'capacity',
  alerts: 'alerts',
  agentInstantiations: 'window',
  agentInstantiationsHourly: 'window',
  teamFormations: 'window',
  teamFormationsHourly: 'window',
  taskOutcomes: 'window',
  taskOutcomesHourly: 'window',
  tokensByAgent: 'window',
  tokensByAgentHourly: 'window',
  tokensByTeam: 'window',
  tokensByTeamHourly: 'window',
  tokensByTemplate: 'window',
  tokensByTemplateHourly: 'window',
  topTokenConsumers: 'window',
  topTokenConsumersHourly: 'window',
  processingLatency: 'window',
  inferenceTime: 'window',
  componentMetrics: 'window',
  agentUtilization: 'window',
  templateUtilization: 'window',
  teamTaskOutcomes: 'window',
  agentSessions: 'session',
}

/** The outputs whose windows also feed a token leaderboard (a ZSET per window, scored by tokens). */
export const LEADERBOARD_OUTPUTS: ReadonlySet<OutputName> = new Set(['tokensByAgent', 'tokensByAgentHourly'])

export interface WriteSettings {
  /** How long a window's keys live after the window's end. */
  readonly retentionMs: number
  /** How long an alert's hash lives after its event time. */
  readonly alertRetentionMs: number
  /** Alerts kept in the recent list. */
  readonly maxAlerts: number
  /** Window size of the outputs on the metrics windows (to decode their keys). */
  readonly metricsWindowMs: number
  /** Window size of the hourly (`*Hourly`) outputs. */
  readonly hoppingWindowMs: number
}

/** Index entries of a session are trimmed when their start is this much older than the retention. */
const SESSION_TRIM_SLACK_MS = 24 * 60 * 60 * 1000

export class WriteCompiler {
  readonly #keys: RedisKeys
  readonly #settings: WriteSettings
  readonly #windowSerdes = new Map<OutputName, Serde<Windowed<string>>>()

  constructor(keys: RedisKeys, settings: WriteSettings) {
    this.#keys = keys
    this.#settings = settings
  }

  upsert(output: OutputName, key: Buffer | null, value: Record<string, unknown>): Op[] {
    switch (kindOf(output)) {
      case 'agents':
        return this.#agent(value as unknown as AgentSnapshot)
      case 'teams':
        return this.#team(value as unknown as TeamSnapshot)
      case 'tasks':
        return this.#task(value as unknown as TaskSnapshot)
      case 'capacity':
        return this.#capacity(value as unknown as IdleAgentsByCapability)
      case 'alerts':
        return this.#alert(value as unknown as Alert)
      case 'window':
      case 'session':
        return this.#window(output, key, value)
    }
  }

  tombstone(output: OutputName, key: Buffer | null): Op[] {
    const k = this.#keys
    const kind = kindOf(output)
    if (kind === 'window' || kind === 'session') {
      const { group, id, start } = this.#windowKey(output, key)
      const ops = [op('w', k.window(output, group, id), k.windows(output, group), id)]
      if (LEADERBOARD_OUTPUTS.has(output)) ops.push(op('z', k.leaderboard(output, start), group))
      return ops
    }
    const id = stringKey(output, key)
    switch (kind) {
      case 'agents':
        return [op('D', k.agent(id), id)]
      case 'teams':
        return [op('D', k.team(id), id), op('X', k.teamMembers(id))]
      case 'tasks':
        return [op('D', k.task(id), id)]
      case 'capacity':
        return [op('X', k.capacity(id)), op('z', k.idleCapacity(), id)]
      case 'alerts':
        return [op('a', k.alert(id), k.alerts(), id)]
    }
  }

  #agent(a: AgentSnapshot): Op[] {
    const k = this.#keys
    const sets = [k.agentsAll(), k.agentsByStatus(a.status)]
    if (a.template_id !== null) sets.push(k.agentsByTemplate(a.template_id))
    const categories = new Set<string>()
    for (const c of a.capabilities) {
      sets.push(k.agentsByCapability(c.name))
      categories.add(c.category)
    }
    for (const c of categories) sets.push(k.agentsByCategory(c))
    return [entity(k.agent(a.agent_id), a.agent_id, sets, a)]
  }

  #team(t: TeamSnapshot): Op[] {
    const k = this.#keys
    const members: string[] = [k.teamMembers(t.team_id)]
    for (const m of t.members) members.push(m.agent_id, m.role)
    return [
      entity(k.team(t.team_id), t.team_id, [k.teamsAll(), k.teamsByStatus(t.status)], t),
      withCount('H', members),
    ]
  }

  #task(t: TaskSnapshot): Op[] {
    const k = this.#keys
    const sets = [k.tasksAll(), k.tasksByStatus(t.status)]
    if (t.team_id !== null) sets.push(k.tasksByTeam(t.team_id))
    return [entity(k.task(t.task_id), t.task_id, sets, t)]
  }

  #capacity(c: IdleAgentsByCapability): Op[] {
    const k = this.#keys
    const args = [k.capacity(c.capability)]
    encodeHashFields(c as unknown as Record<string, unknown>, args)
    return [withCount('H', args), op('Z', k.idleCapacity(), String(c.idle_agents), c.capability, '0')]
  }

  #alert(a: Alert): Op[] {
    const k = this.#keys
    const s = this.#settings
    const args = [
      k.alert(a.alert_id),
      String(a.event_time + s.alertRetentionMs),
      k.alerts(),
      String(a.event_time),
      a.alert_id,
      String(s.maxAlerts),
      k.alertPrefix(),
      String(s.alertRetentionMs),
    ]
    encodeHashFields(a as unknown as Record<string, unknown>, args)
    return [withCount('A', args)]
  }

  #window(output: OutputName, key: Buffer | null, value: Record<string, unknown>): Op[] {
    const k = this.#keys
    const s = this.#settings
    const { group, start } = this.#windowKey(output, key)
    const end = value.window_end
    if (typeof end !== 'number' || !Number.isFinite(end))
      throw new Error(`${output}: no window_end in the value`)
    const session = kindOf(output) === 'session'
    const id = windowId(start, end, session)
    const expireAt = String(end + s.retentionMs)
    const span = session ? s.retentionMs + SESSION_TRIM_SLACK_MS : s.retentionMs + (end - start)
    const args = [
      k.window(output, group, id),
      expireAt,
      k.windows(output, group),
      id,
      String(start),
      String(span),
    ]
    encodeHashFields(value, args)
    const ops = [withCount('W', args), op('G', k.groups(output), String(start), group, expireAt)]
    if (LEADERBOARD_OUTPUTS.has(output)) {
      const tokens = value.tokens
      if (typeof tokens !== 'number') throw new Error(`${output}: no tokens in the value`)
      ops.push(op('Z', k.leaderboard(output, start), String(tokens), group, expireAt))
    }
    return ops
  }

  #windowKey(output: OutputName, key: Buffer | null): { group: string; start: number; id: string } {
    if (key === null) throw new Error(`${output}: a windowed record without a key`)
    const session = kindOf(output) === 'session'
    if (key.length < (session ? 16 : 8)) throw new Error(`${output}: a windowed key of ${key.length} bytes`)
    let serde = this.#windowSerdes.get(output)
    if (serde === undefined) {
      const str = Serdes.String()
      serde = session
        ? WindowedSerdes.sessionWindowed(str)
        : windowedKey(
            output.endsWith('Hourly') ? this.#settings.hoppingWindowMs : this.#settings.metricsWindowMs,
          )
      this.#windowSerdes.set(output, serde)
    }
    const w = serde.deserialize('', key)
    if (w === null) throw new Error(`${output}: an empty windowed key`)
    const { start, end } = w.window
    return { group: w.key, start, id: windowId(start, end, session) }
  }
}

function kindOf(output: OutputName): RedisOutputKind {
  const kind = REDIS_OUTPUTS[output]
  if (kind === undefined) throw new Error(`the Redis sink does not write ${output}`)
  return kind
}

function stringKey(output: OutputName, key: Buffer | null): string {
  if (key === null) throw new Error(`${output}: a tombstone without a key`)
  return key.toString('utf8')
}

function op(code: string, ...args: string[]): Op {
  return [code, String(args.length), ...args]
}

function withCount(code: string, args: string[]): Op {
  return [code, String(args.length), ...args]
}

function entity(key: string, member: string, sets: string[], value: object): Op {
  const args = [key, member, sets.join('\n')]
  encodeHashFields(value as Record<string, unknown>, args)
  return withCount('E', args)
}

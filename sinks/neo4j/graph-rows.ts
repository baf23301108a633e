// Turns the entity snapshots of one batch into the parameter rows of the graph writes (graph-cypher.ts):
// per topic, only the records above the partition's stored offset, only the last snapshot of each key
// (a snapshot replaces its entity, so the earlier ones of the batch change nothing in the end), sorted
// by id so that concurrent transactions take their node locks in the same order. Pure: unit tested.
//
// Neo4j stores a JavaScript number as a float: the integer fields are sent as neo4j Integers, so they
// come back as integers (the driver reads them as numbers: disableLosslessIntegers). Timestamps are
// epoch milliseconds (UTC), as in the snapshots. A map (task.tokens_by_agent) cannot be a property: it
// is stored as its JSON text.
import neo4j, { type Integer } from 'neo4j-driver'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import type { DecodedRecord } from '../runtime/target.js'

export type EntityKind = 'agents' | 'teams' | 'tasks'
export const ENTITY_KINDS: readonly EntityKind[] = Object.freeze(['agents', 'teams', 'tasks'])

export type EntitySnapshot = AgentSnapshot | TeamSnapshot | TaskSnapshot

type Property = string | number | boolean | Integer | string[] | null
export type Properties = Record<string, Property>

export interface AgentRow {
  id: string
  props: Properties
  /** Sorted by name. */
  caps: { name: string; category: string }[]
  capNames: string[]
}

export interface TeamRow {
  id: string
  props: Properties
  /** Sorted by agent id. */
  members: { id: string; role: string }[]
  memberIds: string[]
}

export interface TaskRow {
  id: string
  props: Properties
  /** Required capability names, sorted. */
  caps: string[]
  teamId: string | null
}

/** The writes of one entity topic in one batch: snapshots to apply and ids whose tombstone came last. */
export interface KindRows<R> {
  upserts: R[]
  deletes: string[]
}

export interface GraphRows {
  agents: KindRows<AgentRow>
  teams: KindRows<TeamRow>
  tasks: KindRows<TaskRow>
  /** Records applied (above the stored offsets, before the per-key deduplication), by topic. */
  applied: Map<string, number>
}

const int = (n: number | null): Integer | null => (n === null ? null : neo4j.int(n))

export function agentRow(s: AgentSnapshot): AgentRow {
  const caps = [...s.capabilities]
    .map((c) => ({ name: c.name, category: c.category }))
    .sort((a, b) => compare(a.name, b.name))
  return {
    id: s.agent_id,
    props: {
      id: s.agent_id,
      status: s.status,
      template_id: s.template_id,
      version: int(s.version),
      name: s.name,
      model: s.model,
      terminated_reason: s.terminated_reason,
      created_at: int(s.created_at),
      updated_at: int(s.updated_at),
      last_event_id: s.last_event_id,
      events: int(s.events),
      team_id: s.team_id,
      team_role: s.team_role,
      team_since: int(s.team_since),
    },
    caps,
    capNames: caps.map((c) => c.name),
  }
}

export function teamRow(s: TeamSnapshot): TeamRow {
  const members = s.members.map((m) => ({ id: m.agent_id, role: m.role })).sort((a, b) => compare(a.id, b.id))
  return {
    id: s.team_id,
    props: {
      id: s.team_id,
      status: s.status,
      task_id: s.task_id,
      required_capabilities: [...s.required_capabilities],
      formation_score: s.formation_score,
      inference_time_ms: s.inference_time_ms,
      failure_reason: s.failure_reason,
      disband_reason: s.disband_reason,
      requested_at: int(s.requested_at),
      formed_at: int(s.formed_at),
      updated_at: int(s.updated_at),
      events: int(s.events),
    },
    members,
    memberIds: members.map((m) => m.id),
  }
}

export function taskRow(s: TaskSnapshot): TaskRow {
  return {
    id: s.task_id,
    props: {
      id: s.task_id,
      status: s.status,
      priority: s.priority,
      required_capabilities: [...s.required_capabilities],
      token_budget: int(s.token_budget),
      team_id: s.team_id,
      agent_ids: [...s.agent_ids],
      tokens_by_agent: JSON.stringify(sortedObject(s.tokens_by_agent)),
      tokens_used: int(s.tokens_used),
      created_at: int(s.created_at),
      assigned_at: int(s.assigned_at),
      started_at: int(s.started_at),
      finished_at: int(s.finished_at),
      duration_ms: int(s.duration_ms),
      error: s.error,
      cancel_reason: s.cancel_reason,
      updated_at: int(s.updated_at),
      events: int(s.events),
      outcome_event: s.outcome_event,
    },
    caps: [...new Set(s.required_capabilities)].sort(compare),
    teamId: s.team_id,
  }
}

/** The entity id of a record: its key (UTF-8), or for a keyless record the snapshot's id. */
export function entityId(kind: EntityKind, record: DecodedRecord<EntitySnapshot>): string | null {
  if (record.key !== null) return record.key.toString('utf8')
  const v = record.value
  if (v === null) return null
  if (kind === 'agents') return (v as AgentSnapshot).agent_id
  if (kind === 'teams') return (v as TeamSnapshot).team_id
  return (v as TaskSnapshot).task_id
}

export interface RowsInput {
  readonly topic: string
  readonly kind: EntityKind
  readonly records: readonly DecodedRecord<EntitySnapshot>[]
  /** The partition's stored offset; records at or below it are skipped. */
  readonly stored: number | null
}

/** Builds the rows of a batch from its partitions (each with its stored offset, read under lock). */
export function graphRows(partitions: readonly RowsInput[]): GraphRows {
  const last: Record<EntityKind, Map<string, EntitySnapshot | null>> = {
    agents: new Map(),
    teams: new Map(),
    tasks: new Map(),
  }
  const applied = new Map<string, number>()
  for (const p of partitions) {
    const latest = last[p.kind]
    let count = 0
    for (const record of p.records) {
      if (p.stored !== null && record.offset <= p.stored) continue
      count++
      const id = entityId(p.kind, record)
      if (id === null) continue
      // Delete then set: the map keeps the order of the last write, which is irrelevant (rows are sorted).
      latest.delete(id)
      latest.set(id, record.value)
    }
    applied.set(p.topic, (applied.get(p.topic) ?? 0) + count)
  }
  return {
    agents: split(last.agents, (s) => agentRow(s as AgentSnapshot)),
    teams: split(last.teams, (s) => teamRow(s as TeamSnapshot)),
    tasks: split(last.tasks, (s) => taskRow(s as TaskSnapshot)),
    applied,
  }
}

function split<R extends { id: string; props: Properties }>(
  latest: Map<string, EntitySnapshot | null>,
  row: (s: EntitySnapshot) => R,
): KindRows<R> {
  const upserts: R[] = []
  const deletes: string[] = []
  for (const [id, value] of latest) {
    if (value === null) deletes.push(id)
    else {
      // The key is the id; a snapshot whose id field disagrees is still written under its key.
      const r = row(value)
      upserts.push({ ...r, id, props: { ...r.props, id } })
    }
  }
  upserts.sort((a, b) => compare(a.id, b.id))
  deletes.sort(compare)
  return { upserts, deletes }
}

function sortedObject(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => compare(a, b)))
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

// Idle agents per capability, and the capacity each team formation request met. The agent table is
// turned into a table of (capability, agent) pairs (an agent has several capabilities), which is
// re-grouped by capability with an adder and a subtractor: a status change, a capability removed, a
// termination or a deleted agent retracts the pair's old value from its capability before the new
// one is added, so the counts follow the agents exactly. Formation requests then look up, once per
// required capability, how many agents with it were idle when the request was processed, and the
// answers are gathered back into one record per request.
//
// The pairs: a processor keyed by agent id keeps each agent's last status and capability names (store
// `join-agent-capabilities`) and emits, for an agent update, the pairs whose status changed and a
// tombstone for each capability the agent lost (all of them when it is terminated or deleted: a
// terminated agent is no capacity). Those go through a repartition topic into the pair table.

import type { TeamEvent, TeamFormationRequested } from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import {
  type KeyValueStore,
  type KStream,
  type KTable,
  Materialized,
  type Processor,
  type ProcessorContext,
  type Serde,
  Serdes,
  Stores,
  StreamRecord,
  type StreamsBuilder,
} from '../../topology/index.js'
import type { AgentSnapshot, AgentState } from '../entities/agents.js'

/** Agents with a capability by status, per capability (output `agent_party.idle_agents_by_capability`). */
export interface IdleAgentsByCapability {
  capability: string
  idle_agents: number
  busy_agents: number
  offline_agents: number
  unknown_agents: number
  /** Agents with the capability that are not terminated. */
  agents: number
}

export interface CapabilityCapacity {
  capability: string
  /** Idle agents with the capability when the request was processed. */
  idle_agents: number
  /** Agents with the capability (not terminated) then. */
  agents: number
}

/** One record per TeamFormationRequested, keyed by team id (`agent_party.formation_request_capacity`). */
export interface FormationRequestCapacity {
  team_id: string
  task_id: string
  /** The request's event id. */
  request_id: string
  /** Event time of the request. */
  requested_at: number
  /** One entry per distinct required capability, in the request's order. */
  capabilities: CapabilityCapacity[]
  /** True when every required capability had at least one idle agent. */
  all_covered: boolean
}

/** The pair table's value, keyed by JSON `[capability, agent_id]`. */
interface CapabilityAgent {
  capability: string
  agent_id: string
  status: AgentState
}

/** What the pair processor remembers of an agent. */
interface AgentCapabilities {
  status: AgentState
  capabilities: string[]
}

const AGENT_CAPABILITIES_STORE = 'join-agent-capabilities'
const PENDING_STORE = 'join-formation-requests-pending'

const pairKey = (capability: string, agentId: string) => JSON.stringify([capability, agentId])

class CapabilityPairs implements Processor<string, AgentSnapshot | null, string, CapabilityAgent | null> {
  #context!: ProcessorContext<string, CapabilityAgent | null>
  #agents!: KeyValueStore<string, AgentCapabilities>

  init(context: ProcessorContext<string, CapabilityAgent | null>): void {
    this.#context = context
    this.#agents = context.getStateStore<KeyValueStore<string, AgentCapabilities>>(AGENT_CAPABILITIES_STORE)
  }

  process(record: StreamRecord<string, AgentSnapshot | null>): void {
    const agentId = record.key
    const agent = record.value
    const before = this.#agents.get(agentId)
    // A terminated or deleted agent has no pairs.
    const live = agent !== null && agent !== undefined && agent.status !== 'TERMINATED'
    const now = live ? [...new Set(agent.capabilities.map((c) => c.name))] : []
    const status = live ? agent.status : 'TERMINATED'
    if (
      before?.status === status &&
      before.capabilities.length === now.length &&
      now.every((c) => before.capabilities.includes(c))
    )
      return // Nothing a pair holds changed (most agent updates: counters, timestamps).
    const had = new Set(before?.capabilities ?? [])
    for (const capability of before?.capabilities ?? []) {
      if (!now.includes(capability)) this.#emit(record, pairKey(capability, agentId), null)
    }
    for (const capability of now) {
      if (had.has(capability) && before?.status === status) continue
      this.#emit(record, pairKey(capability, agentId), { capability, agent_id: agentId, status })
    }
    if (now.length === 0) {
      if (before !== undefined) this.#agents.delete(agentId)
    } else this.#agents.put(agentId, { status, capabilities: now })
  }

  #emit(record: StreamRecord<string, unknown>, key: string, value: CapabilityAgent | null): void {
    this.#context.forward(new StreamRecord(key, value, record.timestamp, record.headers))
  }
}

function count(status: AgentState, by: number, agg: IdleAgentsByCapability): IdleAgentsByCapability {
  return {
    ...agg,
    idle_agents: agg.idle_agents + (status === 'IDLE' ? by : 0),
    busy_agents: agg.busy_agents + (status === 'BUSY' ? by : 0),
    offline_agents: agg.offline_agents + (status === 'OFFLINE' ? by : 0),
    unknown_agents: agg.unknown_agents + (status === 'UNKNOWN' ? by : 0),
    agents: agg.agents + by,
  }
}

/**
 * The table of agents per capability and status, from the agent table (keyed by agent id), keyed by
 * capability and materialized as `join-idle-agents-by-capability`; its updates go to `output` (keyed
 * by capability, value `serde`). Adds the store `join-agent-capabilities` (per agent), the pair table
 * `join-capability-agents` behind the repartition topic
 * `<applicationId>-join-capability-agents-repartition`, and the repartition topic
 * `<applicationId>-join-agents-by-capability-repartition`.
 */
export function idleAgentsByCapability(
  builder: StreamsBuilder,
  agents: KTable<string, AgentSnapshot>,
  output: string,
  serde: Serde<IdleAgentsByCapability>,
): KTable<string, IdleAgentsByCapability> {
  const str = Serdes.String()
  const pairJson = Serdes.Json<CapabilityAgent>()
  builder.addStateStore(
    Stores.keyValueStoreBuilder(AGENT_CAPABILITIES_STORE, str, Serdes.Json<AgentCapabilities>()),
  )
  const table = agents
    .toStream({ name: 'join-agent-updates' })
    .process(() => new CapabilityPairs(), AGENT_CAPABILITIES_STORE)
    .toTable(
      { name: 'join-capability-agents' },
      Materialized.as<string, CapabilityAgent>('join-capability-agents')
        .withKeySerde(str)
        .withValueSerde(pairJson),
    )
    // The table holds no nulls: a null from the processor deletes its pair.
    .groupBy((_pair, p) => [(p as CapabilityAgent).capability, (p as CapabilityAgent).status] as const, {
      name: 'join-agents-by-capability',
      keySerde: str,
      valueSerde: Serdes.Json<AgentState>(),
    })
    .aggregate<IdleAgentsByCapability>(
      () => ({
        capability: '',
        idle_agents: 0,
        busy_agents: 0,
        offline_agents: 0,
        unknown_agents: 0,
        agents: 0,
      }),
      (capability, status, agg) => count(status, 1, { ...agg, capability }),
      (capability, status, agg) => count(status, -1, { ...agg, capability }),
      Materialized.as<string, IdleAgentsByCapability>('join-idle-agents-by-capability')
        .withKeySerde(str)
        .withValueSerde(Serdes.Json<IdleAgentsByCapability>()),
    )
  table.toStream({ name: 'join-idle-agents-changes' }).to(output, {
    keySerde: str,
    valueSerde: serde as Serde<IdleAgentsByCapability | null>,
    name: 'join-idle-agents-sink',
  })
  return table
}

/** One required capability of a request, on its way to the lookup and back. */
interface RequestPart {
  request_id: string
  team_id: string
  task_id: string
  requested_at: number
  /** Position in the request's distinct capabilities, and how many there are (0: none required). */
  index: number
  count: number
  capacity: CapabilityCapacity | null
}

/** The answers of a request so far, by position (null: not yet back). */
type PendingRequest = (CapabilityCapacity | null)[]

class GatherRequest implements Processor<string, RequestPart, string, FormationRequestCapacity> {
  #context!: ProcessorContext<string, FormationRequestCapacity>
  #pending!: KeyValueStore<string, PendingRequest>

  init(context: ProcessorContext<string, FormationRequestCapacity>): void {
    this.#context = context
    this.#pending = context.getStateStore<KeyValueStore<string, PendingRequest>>(PENDING_STORE)
  }

  process(record: StreamRecord<string, RequestPart>): void {
    const part = record.value
    let capacities: (CapabilityCapacity | null)[] = []
    if (part.count > 0) {
      // Stored values are never changed in place: the store logs what is put.
      const stored = this.#pending.get(part.request_id)
      const before = stored ?? Array.from({ length: part.count }, () => null)
      capacities = before.map((c, i) => (i === part.index ? part.capacity : c))
      if (capacities.some((c) => c === null)) {
        this.#pending.put(part.request_id, capacities)
        return
      }
      if (stored !== undefined) this.#pending.delete(part.request_id)
    }
    const found = capacities as CapabilityCapacity[]
    this.#context.forward(
      record.withValue({
        team_id: part.team_id,
        task_id: part.task_id,
        request_id: part.request_id,
        requested_at: part.requested_at,
        capabilities: found,
        all_covered: found.every((c) => c.idle_agents > 0),
      }),
    )
  }
}

/**
 * For each TeamFormationRequested of `teamEvents` (keyed by team id), how many agents had each required
 * capability, and how many of them were idle, in `capacity` (idleAgentsByCapability's table) when the
 * request was processed: one record per request to `output`, keyed by team id. Adds the repartition
 * topics `<applicationId>-join-request-capacity-left-repartition` (one record per required capability,
 * keyed by it) and `<applicationId>-join-request-capacity-by-team-repartition` (the answers, keyed by
 * team id), and the store `join-formation-requests-pending` (requests waiting for answers; empty
 * between requests).
 */
export function formationRequestCapacity(
  builder: StreamsBuilder,
  teamEvents: KStream<string, TeamEvent>,
  capacity: KTable<string, IdleAgentsByCapability>,
  output: string,
  serde: Serde<FormationRequestCapacity>,
): void {
  const str = Serdes.String()
  const partJson = Serdes.Json<RequestPart>()
  builder.addStateStore(Stores.keyValueStoreBuilder(PENDING_STORE, str, Serdes.Json<PendingRequest>()))
  const requests = teamEvents
    .filter((_team, e) => payloadName(e.payload) === 'TeamFormationRequested', {
      name: 'join-formation-requests',
    })
    .mapValues(
      (e, team): { part: RequestPart; capabilities: string[] } => {
        const requested = payloadOf<TeamFormationRequested>(e.payload)
        return {
          part: {
            request_id: e.event_id,
            team_id: team,
            task_id: requested.task_id,
            requested_at: e.occurred_at,
            index: 0,
            count: 0,
            capacity: null,
          },
          capabilities: [...new Set(requested.required_capabilities)],
        }
      },
      { name: 'join-formation-request-capabilities' },
    )
  const answered = requests
    .flatMap(
      (_team, r) =>
        r.capabilities.map((capability, index): readonly [string, RequestPart] => [
          capability,
          { ...r.part, index, count: r.capabilities.length },
        ]),
      { name: 'join-request-parts' },
    )
    .leftJoin(
      capacity,
      (part, agg, capability): RequestPart => ({
        ...part,
        capacity: { capability, idle_agents: agg?.idle_agents ?? 0, agents: agg?.agents ?? 0 },
      }),
      { name: 'join-request-capacity', keySerde: str, valueSerde: partJson },
    )
    .selectKey((_capability, part) => part.team_id, { name: 'join-request-team-key' })
  const none = requests
    .filter((_team, r) => r.capabilities.length === 0, { name: 'join-requests-without-capabilities' })
    .mapValues((r) => r.part, { name: 'join-request-empty-part' })
  answered
    .merge(none, { name: 'join-request-answers' })
    .repartition({ name: 'join-request-capacity-by-team', keySerde: str, valueSerde: partJson })
    .processValues(() => new GatherRequest(), { name: 'join-request-capacity-gather' }, PENDING_STORE)
    .to(output, { keySerde: str, valueSerde: serde, name: 'join-request-capacity-sink' })
}

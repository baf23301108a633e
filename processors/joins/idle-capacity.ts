// Idle agents per capability, and the capacity each team formation request met. Each update of the
// agent table comes with the snapshot it replaces (KTable.toChangeStream); when the two differ in
// status or capability names, each capability concerned gets a delta: minus one under the old status,
// plus one under the new (a terminated or deleted agent leaves every capability: it is no capacity). So
// the counts follow the agents exactly, and need no store of their own for each agent's last status.
// Each task folds its deltas per capability until it commits (KStream.combine): one record per
// capability and commit goes through the repartition topic instead of one per agent update and
// capability (1.4 per input event in P8). The capability table sums them.
// Formation requests then look up, once per required capability, how many agents with it were idle
// when the request was processed, and the answers are gathered back into one record per request.

import type { TeamEvent, TeamFormationRequested } from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import {
  type Change,
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

/** A change of the agents of one capability, per status (what the repartition topic carries). */
interface CapabilityDelta {
  idle_agents: number
  busy_agents: number
  offline_agents: number
  unknown_agents: number
  agents: number
}

/** What the delta processor remembers of an agent. */
interface AgentCapabilities {
  status: AgentState
  capabilities: string[]
}

const PENDING_STORE = 'join-formation-requests-pending'

const noChange = (): CapabilityDelta => ({
  idle_agents: 0,
  busy_agents: 0,
  offline_agents: 0,
  unknown_agents: 0,
  agents: 0,
})

/** `by` agents of `status` more (or fewer). */
function delta(status: AgentState, by: number): CapabilityDelta {
  return {
    idle_agents: status === 'IDLE' ? by : 0,
    busy_agents: status === 'BUSY' ? by : 0,
    offline_agents: status === 'OFFLINE' ? by : 0,
    unknown_agents: status === 'UNKNOWN' ? by : 0,
    agents: by,
  }
}

function addDelta<T extends CapabilityDelta>(agg: T, delta: CapabilityDelta): T {
  return {
    ...agg,
    idle_agents: agg.idle_agents + delta.idle_agents,
    busy_agents: agg.busy_agents + delta.busy_agents,
    offline_agents: agg.offline_agents + delta.offline_agents,
    unknown_agents: agg.unknown_agents + delta.unknown_agents,
    agents: agg.agents + delta.agents,
  }
}

const isNoChange = (d: CapabilityDelta): boolean =>
  d.idle_agents === 0 &&
  d.busy_agents === 0 &&
  d.offline_agents === 0 &&
  d.unknown_agents === 0 &&
  d.agents === 0

/** What counts of an agent: its status and capability names; undefined when it is in no capability. */
function counted(agent: AgentSnapshot | null): AgentCapabilities | undefined {
  // A terminated or deleted agent is in no capability.
  if (agent === null || agent.status === 'TERMINATED') return undefined
  const capabilities = [...new Set(agent.capabilities.map((c) => c.name))]
  return capabilities.length === 0 ? undefined : { status: agent.status, capabilities }
}

class CapabilityDeltas implements Processor<string, Change<AgentSnapshot>, string, CapabilityDelta> {
  #context!: ProcessorContext<string, CapabilityDelta>

  init(context: ProcessorContext<string, CapabilityDelta>): void {
    this.#context = context
  }

  process(record: StreamRecord<string, Change<AgentSnapshot>>): void {
    const before = counted(record.value.oldValue)
    const after = counted(record.value.newValue)
    const now = after?.capabilities ?? []
    const status = after?.status ?? 'TERMINATED'
    const sameStatus = before?.status === status
    if (
      sameStatus &&
      before !== undefined &&
      before.capabilities.length === now.length &&
      now.every((c) => before.capabilities.includes(c))
    )
      return // Nothing counted changed (most agent updates: counters, timestamps).
    for (const capability of before?.capabilities ?? []) {
      if (!(sameStatus && now.includes(capability)))
        this.#emit(record, capability, delta((before as AgentCapabilities).status, -1))
    }
    for (const capability of now) {
      if (!(sameStatus && before?.capabilities.includes(capability)))
        this.#emit(record, capability, delta(status, 1))
    }
  }

  #emit(record: StreamRecord<string, unknown>, capability: string, delta: CapabilityDelta): void {
    this.#context.forward(new StreamRecord(capability, delta, record.timestamp, record.headers))
  }
}

/**
 * The table of agents per capability and status, from the agent table (keyed by agent id), keyed by
 * capability and materialized as `join-idle-agents-by-capability`; its updates go to `output` (keyed
 * by capability, value `serde`). Adds the repartition topic
 * `<applicationId>-join-capability-deltas-repartition` (the folded deltas, keyed by capability).
 */
export function idleAgentsByCapability(
  agents: KTable<string, AgentSnapshot>,
  output: string,
  serde: Serde<IdleAgentsByCapability>,
): KTable<string, IdleAgentsByCapability> {
  const str = Serdes.String()
  const table = agents
    .toChangeStream({ name: 'join-agent-updates' })
    .process(() => new CapabilityDeltas())
    .combine(noChange, (_capability, delta, folded) => addDelta(folded, delta), {
      name: 'join-capability-deltas-fold',
    })
    // An agent that went and came back within one commit interval changed nothing.
    .filter((_capability, delta) => !isNoChange(delta), { name: 'join-capability-deltas-changed' })
    .groupByKey({
      name: 'join-capability-deltas',
      keySerde: str,
      valueSerde: Serdes.Json<CapabilityDelta>(),
    })
    .aggregate<IdleAgentsByCapability>(
      () => ({ capability: '', ...noChange() }),
      (capability, delta, agg) => addDelta({ ...agg, capability }, delta),
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
  builder.addStateStore(
    Stores.keyValueStoreBuilder(PENDING_STORE, str, Serdes.Json<PendingRequest>()).withCachingEnabled(),
  )
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

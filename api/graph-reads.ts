// The API's reads from the Neo4j graph that the Neo4j sink keeps (sinks/neo4j, graph model in
// ARCHITECTURE.md): questions that need the relationships, not just one entity. Every query runs in
// READ access mode, so that with a `neo4j://` routing URI a cluster serves it from a follower.
import neo4j, { type Driver } from 'neo4j-driver'
import { isConnectionFailure } from '../sinks/neo4j/classify-error.js'

export interface GraphAgent {
  readonly id: string
  readonly status: string | null
  readonly template_id: string | null
  readonly version: number | null
  readonly capabilities: readonly { name: string; category: string | null }[]
}

export interface TeamNeighbourhood {
  readonly team: { id: string; status: string | null }
  readonly members: readonly (GraphAgent & { role: string | null })[]
  readonly tasks: readonly {
    id: string
    status: string | null
    priority: string | null
    tokens_used: number | null
  }[]
}

const AGENT_FIELDS = `a.id AS id, a.status AS status, a.template_id AS template_id, a.version AS version,
  COLLECT { MATCH (a)-[:HAS_CAPABILITY]->(c:Capability) RETURN c { .name, .category } ORDER BY c.name } AS capabilities`

const IDLE_WITH_CAPABILITIES = `
MATCH (a:Agent {status: 'IDLE'})
WHERE all(name IN $capabilities WHERE EXISTS { (a)-[:HAS_CAPABILITY]->(:Capability {name: name}) })
RETURN ${AGENT_FIELDS}
ORDER BY a.id
LIMIT $limit`

const TEAM_NEIGHBOURHOOD = `
MATCH (t:Team {id: $id})
RETURN t { .id, .status } AS team,
  COLLECT {
    MATCH (a:Agent)-[m:MEMBER_OF]->(t)
    RETURN { id: a.id, status: a.status, template_id: a.template_id, version: a.version, role: m.role,
             capabilities: COLLECT { MATCH (a)-[:HAS_CAPABILITY]->(c:Capability) RETURN c { .name, .category } ORDER BY c.name } }
    ORDER BY a.id
  } AS members,
  COLLECT {
    MATCH (t)-[:ASSIGNED_TO]->(k:Task)
    RETURN k { .id, .status, .priority, .tokens_used } ORDER BY k.id
  } AS tasks`

/** Called after each query: its name, duration, and whether it failed to reach the server. */
export type QueryObserver = (query: string, durationMs: number, connectionFailure: boolean) => void

export class GraphReads {
  constructor(
    readonly driver: Driver,
    readonly database: string,
    readonly observe: QueryObserver = () => {},
  ) {}

  /** IDLE agents that have every one of the capabilities, by id, at most `limit`. */
  async idleAgentsWithCapabilities(capabilities: readonly string[], limit: number): Promise<GraphAgent[]> {
    const records = await this.#read('idle_agents', IDLE_WITH_CAPABILITIES, {
      capabilities: [...capabilities],
      limit: neo4j.int(limit),
    })
    return records.map((r) => r.toObject() as GraphAgent)
  }

  /** A team with its members (roles, capabilities) and its tasks; null when the graph has no such team. */
  async teamNeighbourhood(id: string): Promise<TeamNeighbourhood | null> {
    const records = await this.#read('team_neighbourhood', TEAM_NEIGHBOURHOOD, { id })
    const record = records[0]
    return record === undefined ? null : (record.toObject() as TeamNeighbourhood)
  }

  async #read(name: string, query: string, parameters: Record<string, unknown>) {
    const started = performance.now()
    try {
      const { records } = await this.driver.executeQuery(query, parameters, {
        database: this.database,
        routing: neo4j.routing.READ,
      })
      this.observe(name, performance.now() - started, false)
      return records
    } catch (error) {
      this.observe(name, performance.now() - started, isConnectionFailure(error))
      throw error
    }
  }
}

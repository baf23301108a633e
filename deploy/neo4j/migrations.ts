// The graph schema as versioned migrations, each with its rollback. Names follow the operations
// guide's "Indexing Strategy". The id properties and the capability name are uniqueness
// constraints named as the guide names their index: a constraint carries its own backing index
// of that name, and Neo4j 5 refuses a plain index beside a constraint on the same property.
// Community edition has no node-key or existence constraints, hence `IS UNIQUE`.
// Every statement is idempotent (IF [NOT] EXISTS) so a run interrupted between a schema change
// and the record of its version can simply be run again.

export interface Migration {
  version: number
  name: string
  up: string[]
  down: string[]
}

const unique = (name: string, label: string, property: string) =>
  `CREATE CONSTRAINT ${name} IF NOT EXISTS FOR (n:${label}) REQUIRE n.${property} IS UNIQUE`
const range = (name: string, label: string, properties: string[]) =>
  `CREATE RANGE INDEX ${name} IF NOT EXISTS FOR (n:${label}) ON (${properties.map((p) => `n.${p}`).join(', ')})`
const dropConstraint = (name: string) => `DROP CONSTRAINT ${name} IF EXISTS`
const dropIndex = (name: string) => `DROP INDEX ${name} IF EXISTS`

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'agent id and status',
    up: [unique('agent_id_index', 'Agent', 'id'), range('agent_status_index', 'Agent', ['status'])],
    down: [dropIndex('agent_status_index'), dropConstraint('agent_id_index')],
  },
  {
    version: 2,
    name: 'capability name and category',
    up: [
      unique('capability_name_index', 'Capability', 'name'),
      range('capability_category_index', 'Capability', ['category']),
    ],
    down: [dropIndex('capability_category_index'), dropConstraint('capability_name_index')],
  },
  {
    version: 3,
    name: 'team id and status',
    up: [unique('team_id_index', 'Team', 'id'), range('team_status_index', 'Team', ['status'])],
    down: [dropIndex('team_status_index'), dropConstraint('team_id_index')],
  },
  {
    version: 4,
    name: 'task id and priority',
    up: [unique('task_id_index', 'Task', 'id'), range('task_priority_index', 'Task', ['priority'])],
    down: [dropIndex('task_priority_index'), dropConstraint('task_id_index')],
  },
  {
    version: 5,
    name: 'agent template and version',
    up: [range('agent_template_index', 'Agent', ['template_id', 'version'])],
    down: [dropIndex('agent_template_index')],
  },
  {
    // The Neo4j sink's stored offsets (sinks/neo4j): one node per (sink, topic, partition). The
    // constraint is what makes its MERGE safe under concurrency (and the node a lock).
    version: 6,
    name: 'sink offsets',
    up: [
      'CREATE CONSTRAINT sink_offset_key IF NOT EXISTS FOR (o:SinkOffset) REQUIRE (o.sink, o.topic, o.partition) IS UNIQUE',
    ],
    down: [dropConstraint('sink_offset_key')],
  },
])

// The Cypher of the Neo4j sink: one UNWIND statement per entity topic (the rows of graph-rows.ts), the
// tombstones, and the stored offsets. Each relationship type has exactly one owner, the snapshot
// that lists it, so snapshots applied in any order of topics converge to one graph:
//
//   (Agent)-[:HAS_CAPABILITY]->(Capability)   the agent's `capabilities` (also sets Capability.category)
//   (Agent)-[:MEMBER_OF {role}]->(Team)       the team's `members`
//   (Team)-[:ASSIGNED_TO]->(Task)             the task's `team_id`
//   (Task)-[:REQUIRES]->(Capability)          the task's `required_capabilities`
//
// An owner's snapshot SETs its node's properties (replacing them all) and makes its relationships
// equal to its lists: it deletes the ones no longer listed and MERGEs the others. A node referenced
// before its own snapshot arrives is MERGEd by id as a placeholder (`{id}` only: no `updated_at`,
// which every snapshot has) and filled later. A node without a snapshot of its own (a placeholder,
// or any Capability) lives as long as a relationship references it: removing the last one deletes it.
// Capability categories are changed only when they differ, so that agents sharing a capability do
// not all write-lock its node. Patterns that remove relationships start from the entity's own node
// and leave the other end unlabelled (only one label has each relationship): with a label there, the
// planner may scan that label's index for every row instead of expanding from the entity.

const dropOrphan = (variable: string) =>
  `WITH ${variable} WHERE ${variable}.updated_at IS NULL AND NOT EXISTS { (${variable})--() } DELETE ${variable}`

export const UPSERT_AGENTS = `
UNWIND $rows AS row
MERGE (a:Agent {id: row.id})
SET a = row.props
WITH a, row
CALL (a, row) {
  MATCH (a)-[r:HAS_CAPABILITY]->(c)
  WHERE NOT c.name IN row.capNames
  DELETE r
  ${dropOrphan('c')}
}
CALL (a, row) {
  UNWIND row.caps AS cap
  MERGE (c:Capability {name: cap.name})
  FOREACH (_ IN CASE WHEN c.category = cap.category THEN [] ELSE [1] END | SET c.category = cap.category)
  MERGE (a)-[:HAS_CAPABILITY]->(c)
}`

export const UPSERT_TEAMS = `
UNWIND $rows AS row
MERGE (t:Team {id: row.id})
SET t = row.props
WITH t, row
CALL (t, row) {
  MATCH (t)<-[r:MEMBER_OF]-(a)
  WHERE NOT a.id IN row.memberIds
  DELETE r
  ${dropOrphan('a')}
}
CALL (t, row) {
  UNWIND row.members AS m
  MERGE (a:Agent {id: m.id})
  MERGE (a)-[r:MEMBER_OF]->(t)
  FOREACH (_ IN CASE WHEN r.role = m.role THEN [] ELSE [1] END | SET r.role = m.role)
}`

export const UPSERT_TASKS = `
UNWIND $rows AS row
MERGE (k:Task {id: row.id})
SET k = row.props
WITH k, row
CALL (k, row) {
  MATCH (k)-[r:REQUIRES]->(c)
  WHERE NOT c.name IN row.caps
  DELETE r
  ${dropOrphan('c')}
}
CALL (k, row) {
  MATCH (k)<-[r:ASSIGNED_TO]-(t)
  WHERE row.teamId IS NULL OR t.id <> row.teamId
  DELETE r
  ${dropOrphan('t')}
}
CALL (k, row) {
  UNWIND row.caps AS name
  MERGE (c:Capability {name: name})
  MERGE (k)-[:REQUIRES]->(c)
}
CALL (k, row) {
  UNWIND CASE WHEN row.teamId IS NULL THEN [] ELSE [row.teamId] END AS teamId
  MERGE (t:Team {id: teamId})
  MERGE (t)-[:ASSIGNED_TO]->(k)
}`

// A tombstone removes what the entity's snapshot owned and its properties; the node stays as a
// placeholder while another snapshot's relationship references it.
const tombstone = (label: string, owned: string, other: string) => `
UNWIND $ids AS id
MATCH (n:${label} {id: id})
CALL (n) {
  MATCH ${owned}
  DELETE r
  ${dropOrphan(other)}
}
SET n = {id: n.id}
WITH n WHERE NOT EXISTS { (n)--() }
DELETE n`

export const DELETE_AGENTS = tombstone('Agent', '(n)-[r:HAS_CAPABILITY]->(x:Capability)', 'x')
export const DELETE_TEAMS = tombstone('Team', '(n)<-[r:MEMBER_OF]-(x)', 'x')
export const DELETE_TASKS = tombstone('Task', '(n)-[r:REQUIRES|ASSIGNED_TO]-(x)', 'x')

/**
 * Locks the batch's offset nodes, then reads and moves their offsets. The constant SET comes first
 * and takes the node's write lock, so that a second transaction on the same partition (two instances
 * during a rebalance) waits here until the first commits, and then reads the offset that one stored.
 * Reading before the lock (or computing the new value from a read in the locking SET) could see the
 * offset from before the other's commit and apply its records again. Returns the offsets as they were
 * (null without `$guard`: every record is applied, the chaos test's control).
 *
 * `applied` counts the records applied (the partition's record offsets above the stored one): the
 * exactly-once audit compares it with the records in the log.
 */
export const LOCK_OFFSETS = `
UNWIND $parts AS p
MERGE (o:SinkOffset {sink: $sink, topic: p.topic, partition: p.partition})
SET o.lock = $lock
WITH o, p, CASE WHEN $guard THEN o.offset ELSE null END AS stored
SET o.offset = CASE WHEN o.offset IS NULL OR o.offset < p.last THEN p.last ELSE o.offset END,
    o.applied = coalesce(o.applied, 0) + size([x IN p.offsets WHERE stored IS NULL OR x > stored]),
    o.updated_at = timestamp()
RETURN p.topic AS topic, p.partition AS partition, stored`

export const READ_OFFSETS = `
UNWIND $parts AS p
MATCH (o:SinkOffset {sink: $sink, topic: p.topic, partition: p.partition})
RETURN o.topic AS topic, o.partition AS partition, o.offset AS offset, coalesce(o.applied, 0) AS applied`

export const SINK_OFFSET_CONSTRAINT = 'sink_offset_key'

export const CREATE_SINK_OFFSET_CONSTRAINT = `CREATE CONSTRAINT ${SINK_OFFSET_CONSTRAINT} IF NOT EXISTS FOR (o:SinkOffset) REQUIRE (o.sink, o.topic, o.partition) IS UNIQUE`

/** Reset: the sink's offsets, then the graph's labels in batches (auto-commit session only). */
export const DELETE_SINK_OFFSETS = `
MATCH (o:SinkOffset {sink: $sink})
DELETE o`

export const DELETE_GRAPH = (label: string) => `
MATCH (n:${label})
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS`

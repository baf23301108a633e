// Puts a cluster in the shape the pipeline expects, idempotently: the four event topics and the
// processor's output topics with their registry subjects, the graph schema migrations and the archive
// bucket. Every topic's name comes from PROCESSOR_CONFIG, as the processor reads them (the event
// topics under other names too: a renamed input topic is created and its subject registered under
// that name). Run by `agent-party stack up` on the local stack and by `agent-party provision` against
// any configured cluster; a second run changes nothing.
import type { Config } from '../config/config.js'
import { createAdmin } from '../kafka/clients.js'
import { ensureTopics } from '../kafka/topics.js'
import { loadProcessorConfig } from '../processors/config.js'
import { outputTopicSpecs } from '../processors/outputs.js'
import { RegistryClient, registerSchemas } from '../schemas/index.js'
import { createNeo4jDriver } from '../sinks/neo4j/driver.js'
import { createS3Client } from '../sinks/s3/client.js'
import { migrateUp } from './migrations.js'
import { projectSubjects } from './schemas.js'
import { inputTopicSpecs } from './topics.js'

export interface ProvisionReport {
  topicsCreated: string[]
  topicsExisting: string[]
  migrationsApplied: number[]
  bucketCreated: boolean
  /** Subjects that got a new schema version now; empty with SCHEMA_ENCODING=single-object. */
  schemasRegistered: string[]
}

export async function provision(config: Config): Promise<ProvisionReport> {
  const [topics, outputs, migrationsApplied, bucketCreated, schemasRegistered] = await Promise.all([
    provisionTopics(config),
    provisionOutputTopics(config),
    provisionGraph(config),
    provisionBucket(config),
    provisionSchemas(config),
  ])
  return {
    topicsCreated: [...topics.created, ...outputs.created],
    topicsExisting: [...topics.existing, ...outputs.existing],
    migrationsApplied,
    bucketCreated,
    schemasRegistered,
  }
}

/**
 * Registers the event and output schemas under `<topic>-value` with BACKWARD_TRANSITIVE compatibility.
 * Without a registry (single-object encoding) the schemas travel with the code instead.
 */
export async function provisionSchemas(config: Config): Promise<string[]> {
  if (config.schemas.encoding !== 'registry') return []
  const client = new RegistryClient(config.schemaRegistry)
  const registrations = await registerSchemas(client, projectSubjects(config))
  return registrations.filter((r) => r.ids.some((id) => id.registeredNow)).map((r) => r.subject)
}

/** The processor's output topics (compacted snapshots and windows, event topics with a retention). */
export async function provisionOutputTopics(config: Config) {
  const admin = createAdmin(config.kafka, 'provision-outputs')
  try {
    const { outputTopics } = loadProcessorConfig(config.processor.configFile)
    return await ensureTopics(admin, outputTopicSpecs(outputTopics), config.kafka.replicationFactor)
  } finally {
    await admin.close()
  }
}

export async function provisionTopics(config: Config) {
  const admin = createAdmin(config.kafka, 'provision')
  try {
    const processor = loadProcessorConfig(config.processor.configFile)
    return await ensureTopics(admin, inputTopicSpecs(processor), config.kafka.replicationFactor)
  } finally {
    await admin.close()
  }
}

export async function provisionGraph(config: Config): Promise<number[]> {
  const driver = createNeo4jDriver(config.neo4j)
  try {
    return await migrateUp(driver, { database: config.neo4j.database })
  } finally {
    await driver.close()
  }
}

export async function provisionBucket(config: Config): Promise<boolean> {
  const s3 = createS3Client(config.s3)
  if (await s3.bucketExists(config.s3.bucket)) return false
  await s3.makeBucket(config.s3.bucket, config.s3.region)
  return true
}

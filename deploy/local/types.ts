// Shared types of the local stack API (deploy/local/stack.ts) and its service modules.

export type ServiceName = 'kafka' | 'neo4j' | 'redis' | 's3' | 'registry' | 'neo4j-restore'

/** The services `stack up` starts by default. */
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'neo4j', 'redis', 's3', 'registry']

/**
 * Services started only when asked for: `neo4j-restore`, a second Neo4j (Community has one user
 * database) that graph backups are restored into, started by `stack up` when STACK_NEO4J_RESTORE=1
 * or when named in opts.services. status, down and reset include it whenever it runs.
 */
export const OPTIONAL_SERVICE_NAMES: readonly ServiceName[] = ['neo4j-restore']

export interface StackPorts {
  kafka: number
  kafkaController: number
  /** Kafka's SASL_PLAINTEXT listener (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN). */
  kafkaSasl: number
  neo4jBolt: number
  redis: number
  s3: number
  registry: number
  registryManagement: number
  /** Bolt port of the optional second Neo4j (neo4j-restore). */
  neo4jRestoreBolt: number
}

export interface StackOptions {
  /** Stack folder; default env AGENT_PARTY_STACK_DIR, else `.stack/` at the repo root. */
  dir?: string
  ports?: Partial<StackPorts>
  /**
   * Subset to act on; default the five of SERVICE_NAMES, plus neo4j-restore when
   * STACK_NEO4J_RESTORE=1 (up) or when it runs (status, down, reset).
   */
  services?: ServiceName[]
  /** Progress lines (one per call, no trailing newline). Default: silent. */
  log?: (line: string) => void
}

export interface ServiceStatus {
  name: ServiceName
  /** Our process (pid file + live pid whose cwd is the service dir) exists. */
  running: boolean
  pid: number | undefined
  /** Main client port (Kafka PLAINTEXT, Bolt, Redis, S3 HTTP, registry HTTP). */
  port: number
  /** The service answered a real protocol request just now. */
  ready: boolean
  rssBytes?: number
}

/** KEY=value connection settings, also written to <dir>/stack.env. */
export type StackEnvironment = Record<string, string>

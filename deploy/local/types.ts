// Shared types of the local stack API (deploy/local/stack.ts) and its service modules.

export type ServiceName = 'kafka' | 'neo4j' | 'redis' | 's3' | 'registry'

export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'neo4j', 'redis', 's3', 'registry']

export interface StackPorts {
  kafka: number
  kafkaController: number
  neo4jBolt: number
  redis: number
  s3: number
  registry: number
  registryManagement: number
}

export interface StackOptions {
  /** Stack folder; default env AGENT_PARTY_STACK_DIR, else `.stack/` at the repo root. */
  dir?: string
  ports?: Partial<StackPorts>
  /** Subset to act on; default all five. */
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

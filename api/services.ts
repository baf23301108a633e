// What the API's routes need, as interfaces: run-api.ts builds them from the configuration, tests
// build them against the real stack with their own prefixes. Routes never open connections.
import type { SinkName } from '../config/config.js'
import type { RedisReadModel } from '../sinks/redis/read-model.js'
import type { GraphReads } from './graph-reads.js'
import type { IngestResult } from './ingest/event-ingest.js'
import type { ReplayJobView, ReplayRequest } from './replay-jobs.js'

export type { IngestResult }

/** Writes events to their topics (api/ingest). Throws an error with `details` for invalid input. */
export interface EventWriter {
  ingest(body: unknown): Promise<IngestResult>
  /** AgentCreated with a new agent id. */
  createAgent(body: unknown): Promise<IngestResult>
}

export type DependencyName = 'kafka' | 'neo4j' | 'redis' | 's3' | 'registry'

export interface DependencyCheck {
  readonly name: DependencyName
  /** Resolves when the dependency answers; rejects (or times out) when it does not. */
  check(): Promise<void>
}

export interface ResetRequest {
  /** Which sinks to reset with the application (default: the routine's default). */
  readonly sinks?: readonly SinkName[]
}

export interface ApiServices {
  readonly readModel: RedisReadModel
  readonly graph: GraphReads
  readonly events: EventWriter
  /** The one reset routine of ops/ (refuses while a group has live members). */
  readonly reset: (request: ResetRequest) => Promise<unknown>
  /** Replays as jobs (api/replay-jobs.ts): start refuses as the reset does, or while one runs. */
  readonly replays: {
    start(request: ReplayRequest): Promise<ReplayJobView>
    get(id: string): ReplayJobView | undefined
  }
  readonly topology: { readonly text: string; readonly mermaid: string }
  readonly checks: readonly DependencyCheck[]
}

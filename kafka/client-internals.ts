// The client's exported, symbol-keyed building blocks (its retry, metadata, connections and the API
// versions it negotiated), typed once: the runtime's one-request TxnOffsetCommit and the fetcher's
// unfiltered Fetch are built from them, as the client builds its own requests.
import type { Connection, kGetApi, kGetConnection, kMetadata, kPerformWithRetry } from '@platformatic/kafka'

export type Callback<T> = (error: Error | null, result: T) => void

export interface ClientInternals {
  [kPerformWithRetry]<T>(
    operation: string,
    run: (retry: (error: Error | null, result?: T) => void) => void,
    done: Callback<T>,
    attempt?: number,
  ): void
  [kMetadata](
    options: { topics: string[] },
    callback: Callback<{
      brokers: Map<number, unknown>
      topics: Map<string, { partitions: { leaderEpoch: number }[] }>
    }>,
  ): void
  [kGetConnection](broker: unknown, callback: Callback<Connection>): void
  /** The API `name` at the version negotiated with the brokers (`api.version`). */
  [kGetApi]<A>(name: string, callback: Callback<A>): void
}

/** A producer's or a consumer's building blocks. */
export function internalsOf(client: object): ClientInternals {
  return client as unknown as ClientInternals
}

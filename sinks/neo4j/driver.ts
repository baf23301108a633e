// Builds the Neo4j driver from configuration. An empty password means a server with auth off
// (the local stack); anything else is basic auth. The pool settings are the operations guide's
// (pool size, connection lifetime, acquisition timeout); absent ones keep the driver's defaults
// (100 connections, 1 h lifetime, 60 s acquisition, 30 s of managed-transaction retries).
import neo4j, { type Driver } from 'neo4j-driver'
import type { Config } from '../../config/config.js'

export interface Neo4jPoolOptions {
  /** Connections per server the pool may open (the driver's default: 100). */
  readonly maxConnectionPoolSize?: number
  /** A pooled connection older than this (ms) is closed instead of reused (default: 1 h). */
  readonly maxConnectionLifetime?: number
  /** How long (ms) a session waits for a pooled connection before failing (default: 60 s). */
  readonly connectionAcquisitionTimeout?: number
  /** How long (ms) opening a TCP connection may take (default: 30 s). */
  readonly connectionTimeout?: number
  /** How long (ms) executeWrite retries a transient failure itself before throwing (default: 30 s). */
  readonly maxTransactionRetryTime?: number
}

/**
 * Integers come back as JavaScript numbers (the sinks' and the API's values are all below 2^53);
 * `losslessIntegers` keeps the driver's Integer objects instead, for a copy that must be exact (backups).
 */
export function createNeo4jDriver(
  config: Config['neo4j'],
  pool: Neo4jPoolOptions = {},
  { losslessIntegers = false }: { readonly losslessIntegers?: boolean } = {},
): Driver {
  const auth = config.password === '' ? undefined : neo4j.auth.basic(config.username, config.password)
  const settings: Record<string, number> = {}
  for (const [name, value] of Object.entries(pool)) {
    if (value === undefined) continue
    if (!Number.isInteger(value) || value <= 0)
      throw new RangeError(`neo4j pool option ${name} must be a whole number > 0, got ${value}`)
    settings[name] = value
  }
  return neo4j.driver(config.uri, auth, { disableLosslessIntegers: !losslessIntegers, ...settings })
}

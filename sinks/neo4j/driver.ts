// Builds the Neo4j driver from configuration. An empty password means a server with auth off
// (the local stack); anything else is basic auth.
import neo4j, { type Driver } from 'neo4j-driver'
import type { Config } from '../../config/config.js'

export function createNeo4jDriver(config: Config['neo4j']): Driver {
  const auth = config.password === '' ? undefined : neo4j.auth.basic(config.username, config.password)
  return neo4j.driver(config.uri, auth, { disableLosslessIntegers: true })
}

// The compose file is for users with Docker; it must offer the same services on the same ports
// with the same variables as the local stack, so one environment works with either.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { DEFAULT_PORTS, SERVICE_NAMES, stackEnv } from '../../../deploy/local/stack.js'

interface ComposeService {
  image: string
  ports?: string[]
}
const compose = parse(
  readFileSync(new URL('../../../deploy/compose/docker-compose.yml', import.meta.url), 'utf8'),
) as {
  services: Record<string, ComposeService>
  'x-agent-party-env': Record<string, string>
}

function publishedPort(service: string): number {
  const mapping = compose.services[service]?.ports?.[0] ?? ''
  // 127.0.0.1:<host>:<container>
  return Number(mapping.split(':')[1])
}

describe('deploy/compose', () => {
  it('has the five services of the local stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICE_NAMES].sort())
  })

  it('publishes each service on the port the local stack uses, on loopback only', () => {
    expect(publishedPort('kafka')).toBe(DEFAULT_PORTS.kafka)
    expect(publishedPort('neo4j')).toBe(DEFAULT_PORTS.neo4jBolt)
    expect(publishedPort('redis')).toBe(DEFAULT_PORTS.redis)
    expect(publishedPort('s3')).toBe(DEFAULT_PORTS.s3)
    expect(publishedPort('registry')).toBe(DEFAULT_PORTS.registry)
    for (const s of Object.values(compose.services)) {
      for (const p of s.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/)
    }
  })

  it('documents the same environment as the local stack writes', async () => {
    const local = await stackEnv({ dir: mkdtempSync(join(tmpdir(), 'compose-test-')) })
    delete local.AGENT_PARTY_STACK_DIR
    const documented = Object.fromEntries(
      Object.entries(compose['x-agent-party-env']).map(([k, v]) => [k, String(v)]),
    )
    expect(documented).toEqual(local)
  })

  it('runs the same major versions', () => {
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:4\.4\./)
    expect(compose.services.neo4j?.image).toMatch(/^neo4j:5\.26/)
    expect(compose.services.redis?.image).toMatch(/^redis:7/)
    expect(compose.services.registry?.image).toMatch(/^apicurio\/apicurio-registry:3\.3\./)
  })

  it('gives MinIO the credentials of the local S3 server', () => {
    const env = (compose.services.s3 as ComposeService & { environment: Record<string, string> }).environment
    expect(env.MINIO_ROOT_USER).toBe(compose['x-agent-party-env'].S3_ACCESS_KEY)
    expect(env.MINIO_ROOT_PASSWORD).toBe(compose['x-agent-party-env'].S3_SECRET_KEY)
  })
})

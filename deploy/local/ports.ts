// Which ports a stack uses. Precedence for stackUp: opts.ports > STACK_*_PORT env vars > the
// ports remembered in <dir>/ports.json while any service of that stack is still running >
// defaults. status/down/logs always use the remembered ports when the file exists, so they agree
// with what `up` started even if the env differs in the calling shell.

import { readFileSync, writeFileSync } from 'node:fs'
import { StackError } from './errors.js'
import type { StackPorts } from './types.js'

export const DEFAULT_PORTS: Readonly<StackPorts> = {
  kafka: 9092,
  kafkaController: 9093,
  kafkaSasl: 9094,
  neo4jBolt: 7687,
  redis: 6379,
  s3: 9000,
  registry: 8081,
  // Quarkus' management interface is build-time enabled in Apicurio and defaults to 9000,
  // which would collide with the S3 port, so it gets its own.
  registryManagement: 8091,
  // The optional second Neo4j (neo4j-restore), the restore target of graph backups.
  neo4jRestoreBolt: 7688,
}

export const PORT_ENV_VARS: Readonly<Record<keyof StackPorts, string>> = {
  kafka: 'STACK_KAFKA_PORT',
  kafkaController: 'STACK_KAFKA_CONTROLLER_PORT',
  kafkaSasl: 'STACK_KAFKA_SASL_PORT',
  neo4jBolt: 'STACK_NEO4J_BOLT_PORT',
  redis: 'STACK_REDIS_PORT',
  s3: 'STACK_S3_PORT',
  registry: 'STACK_REGISTRY_PORT',
  registryManagement: 'STACK_REGISTRY_MANAGEMENT_PORT',
  neo4jRestoreBolt: 'STACK_NEO4J_RESTORE_BOLT_PORT',
}

const KEYS = Object.keys(DEFAULT_PORTS) as (keyof StackPorts)[]

function validPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536
}

export function portsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<StackPorts> {
  const out: Partial<StackPorts> = {}
  for (const key of KEYS) {
    const raw = env[PORT_ENV_VARS[key]]
    if (raw === undefined || raw === '') continue
    const value = Number(raw)
    if (!validPort(value)) {
      throw new StackError(
        'INVALID_PORT',
        `${PORT_ENV_VARS[key]}=${raw} is not a valid TCP port; set it to an integer in 1..65535 or unset it.`,
      )
    }
    out[key] = value
  }
  return out
}

export function readSavedPorts(file: string): Partial<StackPorts> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return {}
  }
  const out: Partial<StackPorts> = {}
  if (parsed && typeof parsed === 'object') {
    const record = parsed as Record<string, unknown>
    for (const key of KEYS) {
      const value = record[key]
      if (validPort(value)) out[key] = value
    }
  }
  return out
}

export function writeSavedPorts(file: string, ports: StackPorts): void {
  writeFileSync(file, `${JSON.stringify(ports, null, 2)}\n`)
}

export function mergePorts(...layers: Partial<StackPorts>[]): StackPorts {
  const out: StackPorts = { ...DEFAULT_PORTS }
  for (const layer of layers) {
    for (const key of KEYS) {
      const value = layer[key]
      if (value !== undefined) {
        if (!validPort(value)) {
          throw new StackError('INVALID_PORT', `ports.${key}=${String(value)} is not a valid TCP port.`)
        }
        out[key] = value
      }
    }
  }
  return out
}

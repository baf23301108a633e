// Turns the environment into one typed, frozen Config, or fails with a ConfigError that lists
// every bad variable (name, problem, expected form). Secret values never reach a message.
import type { z } from 'zod'
import { type SinkName, type VariableName, variables } from './env.js'

export type { SinkName }

type Parsed = { [K in VariableName]: z.output<(typeof variables)[K]['schema']> }

export interface Config {
  kafka: { bootstrapServers: string[]; clientId: string; replicationFactor: number }
  neo4j: {
    uri: string
    username: string
    password: string
    database: string
    maxPoolSize: number
    maxConnectionLifetimeMs: number
  }
  redis: { url: string; keyPrefix: string }
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string; bucket: string }
  schemaRegistry: { url: string }
  schemas: { encoding: Parsed['SCHEMA_ENCODING'] }
  /** How a processor instance runs (the runtime's settings that operators set). */
  streams: {
    processingGuarantee: Parsed['PROCESSING_GUARANTEE']
    /** Undefined: the state directory keeps one. */
    instanceId: string | undefined
    /** Undefined: the runtime's default. */
    stateDir: string | undefined
    metricsPort: number
  }
  /** The Agent Party topology's settings file; undefined: the defaults. */
  processor: { configFile: string | undefined }
  /** How `agent-party run sinks` runs (sinks/run-sinks.ts). */
  sinks: {
    enabled: Parsed['SINKS']
    groupPrefix: string
    batchSize: number
    lingerMs: number
    archiveRangeRecords: number
    archiveIdleMs: number
    archiveRetentionDays: number
  }
  /** Graph backups to S3 (ops/backup.ts, `agent-party backup`); S3 connection: `s3`. */
  backup: { bucket: string; retentionDays: number }
  /** How `agent-party run api` runs (api/). */
  api: {
    port: number
    host: string
    /** Undefined: no user store, POST /token issues nothing. */
    usersFile: string | undefined
    jwt: {
      /** HS256 key; undefined: HS256 off. */
      secret: string | undefined
      privateKeyFile: string | undefined
      keyId: string | undefined
      jwksUrl: string | undefined
      issuer: string
      audience: string
      ttlSeconds: number
    }
    rateLimitPerMinute: number
    corsOrigins: string[]
    lag: { groups: string[]; pollMs: number }
  }
  log: { level: Parsed['LOG_LEVEL']; components: Parsed['LOG_LEVELS'] }
}

export interface ConfigIssue {
  variable: VariableName
  problem: string
  expected: string
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  readonly issues: ConfigIssue[]

  constructor(issues: ConfigIssue[]) {
    super(
      `Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  - ${i.variable}: ${i.problem}. Expected ${i.expected}.`).join('\n'),
    )
    this.name = 'ConfigError'
    this.issues = issues
  }
}

export type Environment = Record<string, string | undefined>

export function loadConfig(env: Environment = process.env): Config {
  const issues: ConfigIssue[] = []
  const values = {} as Record<VariableName, unknown>
  for (const name of Object.keys(variables) as VariableName[]) {
    const spec = variables[name]
    const raw = env[name] ?? spec.default
    const result = spec.schema.safeParse(raw)
    if (result.success) {
      values[name] = result.data
    } else {
      const shown = 'secret' in spec && spec.secret ? 'the value given' : `'${raw}'`
      const reasons = result.error.issues.map((i) => i.message).join('; ')
      issues.push({ variable: name, problem: `${shown} ${reasons}`, expected: spec.expected })
    }
  }
  if (issues.length > 0) throw new ConfigError(issues)
  const v = values as Parsed
  return deepFreeze({
    kafka: {
      bootstrapServers: v.KAFKA_BOOTSTRAP_SERVERS,
      clientId: v.KAFKA_CLIENT_ID,
      replicationFactor: v.KAFKA_REPLICATION_FACTOR,
    },
    neo4j: {
      uri: v.NEO4J_URI,
      username: v.NEO4J_USERNAME,
      password: v.NEO4J_PASSWORD,
      database: v.NEO4J_DATABASE,
      maxPoolSize: v.NEO4J_MAX_POOL_SIZE,
      maxConnectionLifetimeMs: v.NEO4J_MAX_CONNECTION_LIFETIME_MS,
    },
    redis: { url: v.REDIS_URL, keyPrefix: v.REDIS_KEY_PREFIX },
    s3: {
      endpoint: v.S3_ENDPOINT,
      accessKey: v.S3_ACCESS_KEY,
      secretKey: v.S3_SECRET_KEY,
      region: v.S3_REGION,
      bucket: v.S3_BUCKET,
    },
    schemaRegistry: { url: v.SCHEMA_REGISTRY_URL },
    schemas: { encoding: v.SCHEMA_ENCODING },
    streams: {
      processingGuarantee: v.PROCESSING_GUARANTEE,
      instanceId: v.INSTANCE_ID || undefined,
      stateDir: v.STATE_DIR || undefined,
      metricsPort: v.METRICS_PORT,
    },
    processor: { configFile: v.PROCESSOR_CONFIG || undefined },
    sinks: {
      enabled: v.SINKS,
      groupPrefix: v.SINK_GROUP_PREFIX,
      batchSize: v.SINK_BATCH_SIZE,
      lingerMs: v.SINK_LINGER_MS,
      archiveRangeRecords: v.ARCHIVE_RANGE_RECORDS,
      archiveIdleMs: v.ARCHIVE_IDLE_MS,
      archiveRetentionDays: v.ARCHIVE_RETENTION_DAYS,
    },
    backup: { bucket: v.BACKUP_BUCKET, retentionDays: v.BACKUP_RETENTION_DAYS },
    api: {
      port: v.API_PORT,
      host: v.API_HOST,
      usersFile: v.API_USERS_FILE || undefined,
      jwt: {
        secret: v.API_JWT_SECRET || undefined,
        privateKeyFile: v.API_JWT_PRIVATE_KEY_FILE || undefined,
        keyId: v.API_JWT_KEY_ID || undefined,
        jwksUrl: v.API_JWT_JWKS_URL || undefined,
        issuer: v.API_JWT_ISSUER,
        audience: v.API_JWT_AUDIENCE,
        ttlSeconds: v.API_TOKEN_TTL_SECONDS,
      },
      rateLimitPerMinute: v.API_RATE_LIMIT_PER_MINUTE,
      corsOrigins: v.API_CORS_ORIGINS,
      lag: { groups: v.LAG_GROUPS, pollMs: v.LAG_POLL_MS },
    },
    log: { level: v.LOG_LEVEL, components: v.LOG_LEVELS },
  })
}

/** The config as it may be printed or logged: secrets replaced, credentials in URLs masked. */
export function redactConfig(config: Config): Config {
  return {
    ...config,
    neo4j: { ...config.neo4j, password: config.neo4j.password === '' ? '' : '[redacted]' },
    redis: { ...config.redis, url: redactUrl(config.redis.url) },
    s3: { ...config.s3, secretKey: '[redacted]' },
    api: {
      ...config.api,
      jwt: { ...config.api.jwt, secret: config.api.jwt.secret === undefined ? undefined : '[redacted]' },
    },
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = 'redacted'
    return parsed.toString()
  } catch {
    return '[redacted]'
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

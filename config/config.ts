// Turns the environment into one typed, frozen Config, or fails with a ConfigError that lists
// every bad variable (name, problem, expected form). Secret values never reach a message. A second
// pass over the parsed values takes each secret from X or its X_FILE twin and refuses connection
// settings that contradict each other (SASL on PLAINTEXT, a CA file for a plain-text endpoint).
import type { z } from 'zod'
import {
  type KafkaSaslMechanism,
  type KafkaSecurityProtocol,
  type SinkName,
  type VariableName,
  variables,
} from './env.js'

export type { KafkaSaslMechanism, KafkaSecurityProtocol, SinkName }

type Parsed = { [K in VariableName]: z.output<(typeof variables)[K]['schema']> }

/** How a Kafka client authenticates (KAFKA_SASL_*); kafka/clients.ts turns it into client options. */
export type KafkaSasl =
  | { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  /** A token file, read again at every authentication. */
  | { mechanism: 'OAUTHBEARER'; tokenFile: string }
  /** Tokens of an OAuth client credentials grant. */
  | {
      mechanism: 'OAUTHBEARER'
      tokenUrl: string
      clientId: string
      clientSecret: string
      scope: string | undefined
    }

/** TLS to the brokers (SSL, SASL_SSL): PEM contents, read from the KAFKA_SSL_*_FILE files at start. */
export interface KafkaTls {
  ca: string | undefined
  cert: string | undefined
  key: string | undefined
  rejectUnauthorized: boolean
}

export interface Config {
  kafka: {
    bootstrapServers: string[]
    clientId: string
    replicationFactor: number
    securityProtocol: KafkaSecurityProtocol
    /** Undefined: PLAINTEXT or SSL. */
    sasl: KafkaSasl | undefined
    /** Undefined: PLAINTEXT or SASL_PLAINTEXT. */
    tls: KafkaTls | undefined
  }
  neo4j: {
    uri: string
    username: string
    password: string
    database: string
    maxPoolSize: number
    maxConnectionLifetimeMs: number
  }
  redis: {
    /** REDIS_URL with REDIS_USERNAME and the password of REDIS_PASSWORD_FILE put in, when given. */
    url: string
    keyPrefix: string
    /** PEM of REDIS_TLS_CA_FILE (rediss:// only); undefined: the system CAs. */
    tlsCa: string | undefined
  }
  s3: {
    endpoint: string
    accessKey: string
    secretKey: string
    region: string
    bucket: string
    /** PEM of S3_CA_FILE (https endpoints only); undefined: the system CAs. */
    ca: string | undefined
  }
  /** Fits RegistryClientOptions as it is. Username and password: both or neither. */
  schemaRegistry: { url: string; username: string | undefined; password: string | undefined }
  schemas: { encoding: Parsed['SCHEMA_ENCODING'] }
  /** How a processor instance runs (the runtime's settings that operators set). */
  streams: {
    processingGuarantee: Parsed['PROCESSING_GUARANTEE']
    /** The runtime's producerThread (exactly_once). */
    producerThread: boolean
    /** The runtime's commitIntervalMs, cacheMaxBytes, maxTransactionRecords and transactionTimeoutMs. */
    commitIntervalMs: number
    cacheMaxBytes: number
    maxTransactionRecords: number
    transactionTimeoutMs: number
    /** Undefined: the state directory keeps one. */
    instanceId: string | undefined
    /** Undefined: the runtime's default. */
    stateDir: string | undefined
    /** The runtime's stateStore. */
    stateStore: Parsed['STATE_STORE']
    /** The runtime's windowStateStore. */
    windowStateStore: Parsed['WINDOW_STATE_STORE']
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
  const connections = resolveConnections(env, v)
  if (connections.issues.length > 0) throw new ConfigError(connections.issues)
  const { secrets } = connections
  return deepFreeze({
    kafka: {
      bootstrapServers: v.KAFKA_BOOTSTRAP_SERVERS,
      clientId: v.KAFKA_CLIENT_ID,
      replicationFactor: v.KAFKA_REPLICATION_FACTOR,
      securityProtocol: v.KAFKA_SECURITY_PROTOCOL,
      sasl: connections.kafkaSasl,
      tls: connections.kafkaTls,
    },
    neo4j: {
      uri: v.NEO4J_URI,
      username: v.NEO4J_USERNAME,
      password: secrets.neo4jPassword,
      database: v.NEO4J_DATABASE,
      maxPoolSize: v.NEO4J_MAX_POOL_SIZE,
      maxConnectionLifetimeMs: v.NEO4J_MAX_CONNECTION_LIFETIME_MS,
    },
    redis: { url: connections.redisUrl, keyPrefix: v.REDIS_KEY_PREFIX, tlsCa: v.REDIS_TLS_CA_FILE },
    s3: {
      endpoint: v.S3_ENDPOINT,
      accessKey: v.S3_ACCESS_KEY,
      secretKey: secrets.s3SecretKey,
      region: v.S3_REGION,
      bucket: v.S3_BUCKET,
      ca: v.S3_CA_FILE,
    },
    schemaRegistry: {
      url: v.SCHEMA_REGISTRY_URL,
      username: v.SCHEMA_REGISTRY_USERNAME || undefined,
      password: secrets.registryPassword || undefined,
    },
    schemas: { encoding: v.SCHEMA_ENCODING },
    streams: {
      processingGuarantee: v.PROCESSING_GUARANTEE,
      producerThread: v.PRODUCER_THREAD,
      commitIntervalMs: v.COMMIT_INTERVAL_MS,
      cacheMaxBytes: v.CACHE_MAX_BYTES,
      maxTransactionRecords: v.MAX_TRANSACTION_RECORDS,
      transactionTimeoutMs: v.TRANSACTION_TIMEOUT_MS,
      instanceId: v.INSTANCE_ID || undefined,
      stateDir: v.STATE_DIR || undefined,
      stateStore: v.STATE_STORE,
      windowStateStore: v.WINDOW_STATE_STORE,
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

interface Connections {
  issues: ConfigIssue[]
  kafkaSasl: KafkaSasl | undefined
  kafkaTls: KafkaTls | undefined
  redisUrl: string
  secrets: { neo4jPassword: string; s3SecretKey: string; registryPassword: string }
}

/**
 * The second pass, over values that each parsed: picks every secret from X or X_FILE (never both),
 * and refuses combinations that cannot work together (a SASL mechanism on a PLAINTEXT listener,
 * a CA file for a plain-text endpoint...), each issue naming the variable to change.
 */
function resolveConnections(env: Environment, v: Parsed): Connections {
  const issues: ConfigIssue[] = []
  const flagged = new Set<VariableName>()
  const issue = (variable: VariableName, problem: string, expected: string) => {
    if (flagged.has(variable)) return
    flagged.add(variable)
    issues.push({ variable, problem, expected })
  }
  const given = (name: VariableName) => (env[name] ?? '') !== ''
  /** The secret of `name` or of `${name}_FILE` (read by its schema), refusing both. */
  const secret = (name: VariableName, file: VariableName): string => {
    if (given(name) && given(file)) {
      issue(file, `is set together with ${name}`, `only one of ${name} and ${file}`)
    }
    return (v[file] as string | undefined) ?? (v[name] as string)
  }

  const neo4jPassword = secret('NEO4J_PASSWORD', 'NEO4J_PASSWORD_FILE')
  const s3SecretKey = secret('S3_SECRET_KEY', 'S3_SECRET_KEY_FILE')
  const registryPassword = secret('SCHEMA_REGISTRY_PASSWORD', 'SCHEMA_REGISTRY_PASSWORD_FILE')
  if (registryPassword !== '' && v.SCHEMA_REGISTRY_USERNAME === '') {
    issue(
      'SCHEMA_REGISTRY_USERNAME',
      'is empty, but a registry password is set',
      'the basic-auth user of that password',
    )
  }
  if (registryPassword === '' && v.SCHEMA_REGISTRY_USERNAME !== '') {
    issue(
      'SCHEMA_REGISTRY_PASSWORD',
      'is empty (and so is SCHEMA_REGISTRY_PASSWORD_FILE), but SCHEMA_REGISTRY_USERNAME is set',
      'the password of that user, in SCHEMA_REGISTRY_PASSWORD or SCHEMA_REGISTRY_PASSWORD_FILE',
    )
  }
  if (v.S3_CA_FILE !== undefined && !v.S3_ENDPOINT.startsWith('https:')) {
    issue('S3_CA_FILE', 'is set, but S3_ENDPOINT is not https', 'empty, or an https S3_ENDPOINT')
  }
  if (v.WINDOW_STATE_STORE === 'lmdb' && v.STATE_STORE !== 'lmdb') {
    issue(
      'WINDOW_STATE_STORE',
      `is lmdb, but STATE_STORE is ${v.STATE_STORE}: the windows go to LMDB only beside the tables`,
      'memory, or set STATE_STORE=lmdb too',
    )
  }
  if (v.PROCESSING_GUARANTEE === 'exactly_once' && v.COMMIT_INTERVAL_MS >= v.TRANSACTION_TIMEOUT_MS) {
    issue(
      'COMMIT_INTERVAL_MS',
      `is ${v.COMMIT_INTERVAL_MS}, not below TRANSACTION_TIMEOUT_MS (${v.TRANSACTION_TIMEOUT_MS}): the broker would abort transactions before their commit`,
      'fewer milliseconds than TRANSACTION_TIMEOUT_MS (or raise TRANSACTION_TIMEOUT_MS)',
    )
  }

  const redisUrl = new URL(v.REDIS_URL)
  if (v.REDIS_TLS_CA_FILE !== undefined && redisUrl.protocol !== 'rediss:') {
    issue(
      'REDIS_TLS_CA_FILE',
      'is set, but REDIS_URL is not rediss:// (no TLS)',
      'empty, or a rediss:// REDIS_URL',
    )
  }
  if (v.REDIS_USERNAME !== '') {
    if (redisUrl.username !== '') {
      issue('REDIS_USERNAME', 'is set, but REDIS_URL names a user too', 'the user in one place only')
    }
    redisUrl.username = encodeURIComponent(v.REDIS_USERNAME)
  }
  if (v.REDIS_PASSWORD_FILE !== undefined) {
    if (redisUrl.password !== '') {
      issue(
        'REDIS_PASSWORD_FILE',
        'is set, but REDIS_URL has a password too',
        'the password in one place only',
      )
    }
    redisUrl.password = encodeURIComponent(v.REDIS_PASSWORD_FILE)
  }

  const protocol = v.KAFKA_SECURITY_PROTOCOL
  const saslProtocol = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL'
  const tlsProtocol = protocol === 'SSL' || protocol === 'SASL_SSL'
  const mechanism = v.KAFKA_SASL_MECHANISM
  if (mechanism !== '' && !saslProtocol) {
    issue(
      'KAFKA_SASL_MECHANISM',
      `is ${mechanism}, but KAFKA_SECURITY_PROTOCOL is ${protocol}, which uses no SASL`,
      'empty, or KAFKA_SECURITY_PROTOCOL set to SASL_PLAINTEXT or SASL_SSL',
    )
  }
  if (mechanism === '' && saslProtocol) {
    issue(
      'KAFKA_SASL_MECHANISM',
      `is empty, but KAFKA_SECURITY_PROTOCOL is ${protocol}`,
      'one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER',
    )
  }
  const password = secret('KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE')
  const clientSecret = secret(
    'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
    'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
  )
  const userVars: VariableName[] = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE']
  const oauthVars: VariableName[] = [
    'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
    'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
    'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
    'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
    'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
    'KAFKA_SASL_OAUTHBEARER_SCOPE',
  ]
  const unused = (names: VariableName[], why: string) => {
    for (const name of names.filter(given)) issue(name, `is set, but ${why}`, 'empty')
  }
  let kafkaSasl: KafkaSasl | undefined
  if (mechanism === '' || !saslProtocol) {
    if (mechanism === '') unused([...userVars, ...oauthVars], 'KAFKA_SASL_MECHANISM is empty')
  } else if (mechanism === 'OAUTHBEARER') {
    unused(userVars, 'KAFKA_SASL_MECHANISM is OAUTHBEARER, which takes a token')
    const tokenFile = v.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE
    const tokenUrl = v.KAFKA_SASL_OAUTHBEARER_TOKEN_URL
    if ((tokenFile === '') === (tokenUrl === '')) {
      issue(
        'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
        tokenFile === ''
          ? 'is empty, and so is KAFKA_SASL_OAUTHBEARER_TOKEN_URL'
          : 'is set together with KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
        'exactly one of KAFKA_SASL_OAUTHBEARER_TOKEN_FILE and KAFKA_SASL_OAUTHBEARER_TOKEN_URL with OAUTHBEARER',
      )
    } else if (tokenFile !== '') {
      unused(
        [
          'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
          'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
          'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
          'KAFKA_SASL_OAUTHBEARER_SCOPE',
        ],
        'the token comes from KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
      )
      kafkaSasl = { mechanism, tokenFile }
    } else {
      if (v.KAFKA_SASL_OAUTHBEARER_CLIENT_ID === '') {
        issue(
          'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
          'is empty, but KAFKA_SASL_OAUTHBEARER_TOKEN_URL is set',
          'the OAuth client id',
        )
      }
      if (clientSecret === '') {
        issue(
          'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
          'is empty (and so is KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE), but KAFKA_SASL_OAUTHBEARER_TOKEN_URL is set',
          'the OAuth client secret, in KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET or its _FILE',
        )
      }
      kafkaSasl = {
        mechanism,
        tokenUrl,
        clientId: v.KAFKA_SASL_OAUTHBEARER_CLIENT_ID,
        clientSecret,
        scope: v.KAFKA_SASL_OAUTHBEARER_SCOPE || undefined,
      }
    }
  } else {
    unused(oauthVars, `KAFKA_SASL_MECHANISM is ${mechanism}, which takes a user and a password`)
    if (v.KAFKA_SASL_USERNAME === '') {
      issue('KAFKA_SASL_USERNAME', `is empty, but KAFKA_SASL_MECHANISM is ${mechanism}`, 'the SASL user')
    }
    if (password === '') {
      issue(
        'KAFKA_SASL_PASSWORD',
        `is empty (and so is KAFKA_SASL_PASSWORD_FILE), but KAFKA_SASL_MECHANISM is ${mechanism}`,
        'the SASL password, in KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE',
      )
    }
    kafkaSasl = { mechanism, username: v.KAFKA_SASL_USERNAME, password }
  }

  let kafkaTls: KafkaTls | undefined
  const tlsVars: VariableName[] = [
    'KAFKA_SSL_CA_FILE',
    'KAFKA_SSL_CERT_FILE',
    'KAFKA_SSL_KEY_FILE',
    'KAFKA_SSL_REJECT_UNAUTHORIZED',
  ]
  if (!tlsProtocol) {
    for (const name of tlsVars.filter(given)) {
      if (name === 'KAFKA_SSL_REJECT_UNAUTHORIZED' && v.KAFKA_SSL_REJECT_UNAUTHORIZED) continue
      issue(
        name,
        `is set, but KAFKA_SECURITY_PROTOCOL is ${protocol} (no TLS)`,
        'empty, or KAFKA_SECURITY_PROTOCOL set to SSL or SASL_SSL',
      )
    }
  } else {
    if ((v.KAFKA_SSL_CERT_FILE === undefined) !== (v.KAFKA_SSL_KEY_FILE === undefined)) {
      const missing = v.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE'
      const other = missing === 'KAFKA_SSL_CERT_FILE' ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE'
      issue(
        missing,
        `is empty, but ${other} is set (mutual TLS needs both)`,
        'both of KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE, or neither',
      )
    }
    kafkaTls = {
      ca: v.KAFKA_SSL_CA_FILE,
      cert: v.KAFKA_SSL_CERT_FILE,
      key: v.KAFKA_SSL_KEY_FILE,
      rejectUnauthorized: v.KAFKA_SSL_REJECT_UNAUTHORIZED,
    }
  }

  return {
    issues,
    kafkaSasl,
    kafkaTls,
    // Rewritten only when something was put in, so that a URL is used exactly as written otherwise.
    redisUrl:
      v.REDIS_USERNAME === '' && v.REDIS_PASSWORD_FILE === undefined ? v.REDIS_URL : redisUrl.toString(),
    secrets: { neo4jPassword, s3SecretKey, registryPassword },
  }
}

/** The config as it may be printed or logged: secrets replaced, credentials in URLs masked. */
export function redactConfig(config: Config): Config {
  const sasl = config.kafka.sasl
  return {
    ...config,
    kafka: {
      ...config.kafka,
      sasl:
        sasl === undefined
          ? undefined
          : 'password' in sasl
            ? { ...sasl, password: '[redacted]' }
            : 'clientSecret' in sasl
              ? { ...sasl, clientSecret: '[redacted]' }
              : sasl,
      tls: config.kafka.tls && { ...config.kafka.tls, key: config.kafka.tls.key && '[redacted]' },
    },
    schemaRegistry: {
      ...config.schemaRegistry,
      password: config.schemaRegistry.password && '[redacted]',
    },
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

import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactConfig } from '../../../config/config.js'
import { variables } from '../../../config/env.js'

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('defaults to the local stack', () => {
    const config = loadConfig({})
    expect(config.kafka.bootstrapServers).toEqual(['127.0.0.1:9092'])
    expect(config.kafka.replicationFactor).toBe(1)
    expect(config.neo4j.uri).toBe('bolt://127.0.0.1:7687')
    expect(config.redis.url).toBe('redis://127.0.0.1:6379')
    expect(config.s3.endpoint).toBe('http://127.0.0.1:9000')
    expect(config.schemaRegistry.url).toBe('http://127.0.0.1:8081/apis/ccompat/v7')
    expect(config.log).toEqual({ level: 'info', components: {} })
  })

  it('reads the operations guide names', () => {
    const config = loadConfig({
      KAFKA_BOOTSTRAP_SERVERS: 'kafka-1:9092, kafka-2:9092',
      KAFKA_REPLICATION_FACTOR: '3',
      NEO4J_URI: 'neo4j+s://graph.example.com:7687',
      NEO4J_USERNAME: 'svc',
      NEO4J_PASSWORD: 'pw',
      LOG_LEVELS: 'kafka=debug,neo4j=warn',
    })
    expect(config.kafka.bootstrapServers).toEqual(['kafka-1:9092', 'kafka-2:9092'])
    expect(config.kafka.replicationFactor).toBe(3)
    expect(config.neo4j).toMatchObject({
      uri: 'neo4j+s://graph.example.com:7687',
      username: 'svc',
      password: 'pw',
    })
    expect(config.log.components).toEqual({ kafka: 'debug', neo4j: 'warn' })
  })

  it('reads the processor tuning variables (their defaults: test/unit/processors/run-processor.test.ts)', () => {
    expect(
      loadConfig({
        COMMIT_INTERVAL_MS: '20',
        CACHE_MAX_BYTES: '0',
        MAX_TRANSACTION_RECORDS: '5000',
        TRANSACTION_TIMEOUT_MS: '30000',
      }).streams,
    ).toMatchObject({
      commitIntervalMs: 20,
      cacheMaxBytes: 0,
      maxTransactionRecords: 5000,
      transactionTimeoutMs: 30_000,
    })
  })

  it('puts the windows in LMDB only beside the tables, naming the variable to set', () => {
    expect(loadConfig({ STATE_STORE: 'lmdb', WINDOW_STATE_STORE: 'lmdb' }).streams).toMatchObject({
      stateStore: 'lmdb',
      windowStateStore: 'lmdb',
    })
    expect(loadConfig({ STATE_STORE: 'lmdb' }).streams.windowStateStore).toBe('memory')
    expect(() => loadConfig({ WINDOW_STATE_STORE: 'lmdb' })).toThrow(
      /WINDOW_STATE_STORE: is lmdb, but STATE_STORE is memory.*set STATE_STORE=lmdb too/s,
    )
  })

  it('is frozen', () => {
    const config = loadConfig({})
    expect(() => {
      ;(config.kafka as { clientId: string }).clientId = 'x'
    }).toThrow(TypeError)
  })

  const bad: Record<string, [string, RegExp]> = {
    KAFKA_BOOTSTRAP_SERVERS: ['localhost', /not a list of host:port/],
    KAFKA_CLIENT_ID: ['has space', /characters other than/],
    KAFKA_REPLICATION_FACTOR: ['0', /at least 1/],
    KAFKA_SECURITY_PROTOCOL: ['TLS', /not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/],
    KAFKA_SASL_MECHANISM: ['GSSAPI', /not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER/],
    KAFKA_SASL_PASSWORD_FILE: ['/nonexistent/kafka-password', /cannot be read \(ENOENT\)/],
    KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: ['/nonexistent/token', /names no file/],
    KAFKA_SASL_OAUTHBEARER_TOKEN_URL: ['idp.example.com/token', /scheme http or https/],
    KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE: ['/nonexistent/client-secret', /cannot be read/],
    KAFKA_SSL_CA_FILE: ['/nonexistent/ca.pem', /cannot be read/],
    KAFKA_SSL_CERT_FILE: ['/nonexistent/cert.pem', /cannot be read/],
    KAFKA_SSL_KEY_FILE: ['/nonexistent/key.pem', /cannot be read/],
    KAFKA_SSL_REJECT_UNAUTHORIZED: ['no', /not true or false/],
    NEO4J_PASSWORD_FILE: ['/nonexistent/neo4j-password', /cannot be read/],
    REDIS_PASSWORD_FILE: ['/nonexistent/redis-password', /cannot be read/],
    REDIS_TLS_CA_FILE: ['/nonexistent/redis-ca.pem', /cannot be read/],
    S3_SECRET_KEY_FILE: ['/nonexistent/s3-secret', /cannot be read/],
    S3_CA_FILE: ['/nonexistent/s3-ca.pem', /cannot be read/],
    SCHEMA_REGISTRY_PASSWORD_FILE: ['/nonexistent/registry-password', /cannot be read/],
    NEO4J_URI: ['http://127.0.0.1:7474', /scheme bolt/],
    NEO4J_DATABASE: ['', /is empty/],
    REDIS_URL: ['127.0.0.1:6379', /scheme redis or rediss/],
    S3_ENDPOINT: ['ftp://x', /scheme http or https/],
    S3_ACCESS_KEY: ['', /is empty/],
    S3_SECRET_KEY: ['', /is empty/],
    S3_REGION: ['', /is empty/],
    S3_BUCKET: ['Upper_Case', /bucket name/],
    SCHEMA_REGISTRY_URL: ['registry:8081', /scheme http or https/],
    SCHEMA_ENCODING: ['json', /not one of registry, single-object/],
    PROCESSING_GUARANTEE: ['exactly_once_v2', /not one of exactly_once, at_least_once/],
    PRODUCER_THREAD: ['yes', /not true or false/],
    COMMIT_INTERVAL_MS: ['0', /at least 1/],
    CACHE_MAX_BYTES: ['10MiB', /not a whole number/],
    MAX_TRANSACTION_RECORDS: ['0', /at least 1/],
    TRANSACTION_TIMEOUT_MS: ['500', /at least 1000/],
    INSTANCE_ID: ['pod 0', /letters, digits/],
    STATE_DIR: ['relative/dir', /not an absolute path/],
    STATE_STORE: ['rocksdb', /not one of memory, lmdb/],
    WINDOW_STATE_STORE: ['disk', /not one of memory, lmdb/],
    METRICS_PORT: ['70000', /above 65535/],
    PROCESSOR_CONFIG: ['/nonexistent/processor.json', /names no file/],
    SINKS: ['neo4j,kafka', /unknown sinks kafka/],
    SINK_GROUP_PREFIX: ['my group', /characters other than/],
    SINK_BATCH_SIZE: ['0', /at least 1/],
    SINK_LINGER_MS: ['-5', /not a whole number/],
    NEO4J_MAX_POOL_SIZE: ['many', /not a whole number/],
    BACKUP_BUCKET: ['Bad_Bucket', /not a valid S3 bucket name/],
    BACKUP_RETENTION_DAYS: ['0', /at least 1/],
    NEO4J_MAX_CONNECTION_LIFETIME_MS: ['0', /at least 1/],
    REDIS_KEY_PREFIX: ['', /is empty/],
    ARCHIVE_RANGE_RECORDS: ['1e4', /not a whole number/],
    ARCHIVE_IDLE_MS: ['0', /at least 1/],
    ARCHIVE_RETENTION_DAYS: ['0', /at least 1/],
    API_PORT: ['70000', /above 65535/],
    API_HOST: ['', /is empty/],
    API_USERS_FILE: ['/nonexistent/users.json', /names no file/],
    API_JWT_SECRET: ['too-short', /shorter than 32 characters/],
    API_JWT_PRIVATE_KEY_FILE: ['/nonexistent/key.pem', /names no file/],
    API_JWT_JWKS_URL: ['idp.example.com/jwks', /scheme http or https/],
    API_JWT_ISSUER: ['', /is empty/],
    API_JWT_AUDIENCE: ['', /is empty/],
    API_TOKEN_TTL_SECONDS: ['0', /at least 1/],
    API_RATE_LIMIT_PER_MINUTE: ['-1', /not a whole number/],
    API_CORS_ORIGINS: ['https://dash.example.com/app', /not an origin/],
    LAG_POLL_MS: ['50', /at least 100/],
    LOG_LEVEL: ['verbose', /not one of fatal, error/],
    LOG_LEVELS: ['kafka:debug', /'kafka:debug' is not component=level/],
  }

  for (const [name, [value, problem]] of Object.entries(bad)) {
    it(`rejects a bad ${name} with its own message naming the variable and the expected form`, () => {
      const error = errorOf({ [name]: value })
      expect(error.issues).toHaveLength(1)
      expect(error.issues[0]?.variable).toBe(name)
      expect(error.issues[0]?.problem).toMatch(problem)
      const spec = variables[name as keyof typeof variables]
      expect(error.message).toContain(`${name}: `)
      expect(error.message).toContain(`Expected ${spec.expected}.`)
    })
  }

  it('covers every variable with a bad-value case, except those that accept any string', () => {
    const free = [
      'NEO4J_USERNAME',
      'NEO4J_PASSWORD',
      'API_JWT_KEY_ID',
      'LAG_GROUPS',
      // Any string, but checked against the other variables (test/unit/config/connections.test.ts).
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
      'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
      'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
      'KAFKA_SASL_OAUTHBEARER_SCOPE',
      'REDIS_USERNAME',
      'SCHEMA_REGISTRY_USERNAME',
      'SCHEMA_REGISTRY_PASSWORD',
    ]
    expect(Object.keys(variables).sort()).toEqual([...Object.keys(bad), ...free].sort())
  })

  it('reports every bad variable at once', () => {
    const error = errorOf({ KAFKA_BOOTSTRAP_SERVERS: 'nope', LOG_LEVEL: 'loud', S3_ENDPOINT: 'x' })
    expect(error.issues.map((i) => i.variable)).toEqual([
      'KAFKA_BOOTSTRAP_SERVERS',
      'S3_ENDPOINT',
      'LOG_LEVEL',
    ])
    expect(error.message).toMatch(/3 problems/)
  })

  it('never shows the value of a secret variable', () => {
    const error = errorOf({ REDIS_URL: 'http://user:hunter2@cache:6379' })
    expect(error.message).not.toContain('hunter2')
    expect(error.message).toContain('REDIS_URL: the value given')
  })
})

describe('redactConfig', () => {
  it('masks passwords, secret keys and URL credentials', () => {
    const config = loadConfig({
      NEO4J_PASSWORD: 'neo-secret',
      REDIS_URL: 'redis://app:redis-secret@cache:6379/0',
      S3_SECRET_KEY: 's3-secret',
    })
    const text = JSON.stringify(redactConfig(config))
    for (const secret of ['neo-secret', 'redis-secret', 's3-secret']) expect(text).not.toContain(secret)
    expect(redactConfig(config).redis.url).toBe('redis://app:redacted@cache:6379/0')
  })
})

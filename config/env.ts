// The environment contract: every variable the project reads, its default (pointing at the local
// stack), its expected form and whether it is secret. Validated once, at start, all at once, so a
// user sees every bad value in one message rather than one per restart.
import { existsSync, readFileSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { z } from 'zod'

export interface VariableSpec<T> {
  /** What the variable is for; shown in `agent-party config` and the README table. */
  description: string
  /** The form a valid value takes, shown after a bad one. */
  expected: string
  default: string
  secret?: boolean
  schema: z.ZodType<T>
}

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$/
const hostPortList = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()))
  .refine((parts) => parts.length > 0 && parts.every((p) => hostPort.test(p) && portOf(p) <= 65535), {
    message: 'not a list of host:port',
  })

function isOrigin(s: string): boolean {
  try {
    const url = new URL(s)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === s.replace(/\/$/, '')
  } catch {
    return false
  }
}

function portOf(hostAndPort: string): number {
  return Number(hostAndPort.slice(hostAndPort.lastIndexOf(':') + 1))
}

const urlWithScheme = (schemes: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return schemes.includes(new URL(s).protocol.replace(/:$/, ''))
      } catch {
        return false
      }
    },
    { message: `not a URL with scheme ${schemes.join(' or ')}` },
  )

const positiveInt = z
  .string()
  .regex(/^\d+$/, 'not a whole number')
  .transform(Number)
  .refine((n) => n >= 1, 'must be at least 1')

export const SCHEMA_ENCODINGS = ['registry', 'single-object'] as const

export const SINK_NAMES = ['neo4j', 'redis', 'archive'] as const
export type SinkName = (typeof SINK_NAMES)[number]

const wholeNumber = z.string().regex(/^\d+$/, 'not a whole number').transform(Number)

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
const logLevel = z.enum(LOG_LEVELS, { message: `not one of ${LOG_LEVELS.join(', ')}` })

/** `component=level` pairs, comma-separated: `kafka=debug,neo4j=warn`. */
const componentLevels = z.string().transform((s, ctx) => {
  const out: Record<string, LogLevel> = {}
  for (const pair of s.split(',').map((p) => p.trim())) {
    if (pair === '') continue
    const [component, level, ...rest] = pair.split('=')
    const parsed = logLevel.safeParse(level)
    if (!component || rest.length > 0 || !parsed.success) {
      ctx.addIssue({
        code: 'custom',
        message: `'${pair}' is not component=level with a level of ${LOG_LEVELS.join(', ')}`,
      })
      return z.NEVER
    }
    out[component] = parsed.data
  }
  return out
})

const nonEmpty = z.string().min(1, 'is empty')
const port = z
  .string()
  .regex(/^\d+$/, 'not a whole number')
  .transform(Number)
  .refine((n) => n <= 65535, 'is above 65535')
const existingFileOrEmpty = z.string().refine((s) => s === '' || existsSync(s), 'names no file')
const s3BucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not a valid S3 bucket name (3-63 of a-z, 0-9, ., -)')

/**
 * A `*_FILE` variable: the path of a file holding one secret (a mounted Kubernetes Secret, a Docker
 * secret). Read once at start, trimmed; a missing, unreadable or empty file names this variable.
 * Parses to the secret, or undefined when the variable is empty.
 */
const secretFile = z.string().transform((path, ctx): string | undefined => {
  if (path === '') return undefined
  const text = readFile(path, ctx)
  if (text === undefined) return z.NEVER
  if (text.trim() === '') {
    ctx.addIssue({ code: 'custom', message: `names an empty file (${path})` })
    return z.NEVER
  }
  return text.trim()
})

/** A PEM file (CA bundle, certificate, private key): its content, or undefined when empty. */
const pemFile = z.string().transform((path, ctx): string | undefined => {
  if (path === '') return undefined
  const text = readFile(path, ctx)
  if (text === undefined) return z.NEVER
  if (!text.includes('-----BEGIN ')) {
    ctx.addIssue({ code: 'custom', message: `names a file that holds no PEM block (${path})` })
    return z.NEVER
  }
  return text
})

function readFile(path: string, ctx: z.RefinementCtx): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error'
    ctx.addIssue({ code: 'custom', message: `names a file that cannot be read (${code})` })
    return undefined
  }
}

const optionalUrl = (schemes: string[]) =>
  z
    .string()
    .refine(
      (s) => s === '' || urlWithScheme(schemes).safeParse(s).success,
      `not a URL with scheme ${schemes.join(' or ')}`,
    )

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number]
export const KAFKA_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number]

const fileExpected = 'empty, or the path of a readable file holding the secret'
const pemExpected = 'empty, or the path of a readable PEM file'

export const variables = {
  KAFKA_BOOTSTRAP_SERVERS: {
    description: 'Kafka brokers to bootstrap from',
    expected: 'comma-separated host:port list, e.g. 127.0.0.1:9092,broker2:9092',
    default: '127.0.0.1:9092',
    schema: hostPortList,
  },
  KAFKA_CLIENT_ID: {
    description: 'Client id prefix sent to Kafka (shows in broker logs and quotas)',
    expected: 'letters, digits, ., _ and -',
    default: 'agent-party',
    schema: z.string().regex(/^[A-Za-z0-9._-]+$/, 'has characters other than letters, digits, ., _ and -'),
  },
  KAFKA_REPLICATION_FACTOR: {
    description: 'Replication factor of the topics the project creates (3 in production, 1 on one broker)',
    expected: 'a whole number >= 1, at most the number of brokers',
    default: '1',
    schema: positiveInt,
  },
  KAFKA_SECURITY_PROTOCOL: {
    description:
      'How clients talk to the brokers: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT (SASL, no TLS) or SASL_SSL (SASL over TLS), as Java clients name it',
    expected: KAFKA_SECURITY_PROTOCOLS.join(', '),
    default: 'PLAINTEXT',
    schema: z.enum(KAFKA_SECURITY_PROTOCOLS, {
      message: `not one of ${KAFKA_SECURITY_PROTOCOLS.join(', ')}`,
    }),
  },
  KAFKA_SASL_MECHANISM: {
    description: 'SASL mechanism, required with SASL_PLAINTEXT and SASL_SSL; empty otherwise',
    expected: `empty, or one of ${KAFKA_SASL_MECHANISMS.join(', ')}`,
    default: '',
    schema: z.enum(['', ...KAFKA_SASL_MECHANISMS], {
      message: `not one of ${KAFKA_SASL_MECHANISMS.join(', ')}`,
    }),
  },
  KAFKA_SASL_USERNAME: {
    description: 'SASL user (PLAIN and SCRAM mechanisms)',
    expected: 'a user name, or empty',
    default: '',
    schema: z.string(),
  },
  KAFKA_SASL_PASSWORD: {
    description: 'SASL password (PLAIN and SCRAM); or give KAFKA_SASL_PASSWORD_FILE',
    expected: 'a password, or empty',
    default: '',
    secret: true,
    schema: z.string(),
  },
  KAFKA_SASL_PASSWORD_FILE: {
    description: 'File holding the SASL password (instead of KAFKA_SASL_PASSWORD)',
    expected: fileExpected,
    default: '',
    schema: secretFile,
  },
  KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: {
    description:
      'OAUTHBEARER: file holding the bearer token, read again at every authentication (a sidecar renews it)',
    expected: 'empty, or the path of an existing file',
    default: '',
    schema: existingFileOrEmpty,
  },
  KAFKA_SASL_OAUTHBEARER_TOKEN_URL: {
    description:
      'OAUTHBEARER: token endpoint of the identity provider (OAuth client credentials grant), instead of a token file',
    expected: 'empty, or an http or https URL',
    default: '',
    schema: optionalUrl(['http', 'https']),
  },
  KAFKA_SASL_OAUTHBEARER_CLIENT_ID: {
    description: 'OAUTHBEARER: OAuth client id for the token endpoint',
    expected: 'a client id, or empty',
    default: '',
    schema: z.string(),
  },
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: {
    description: 'OAUTHBEARER: OAuth client secret; or give KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
    expected: 'a client secret, or empty',
    default: '',
    secret: true,
    schema: z.string(),
  },
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE: {
    description: 'OAUTHBEARER: file holding the OAuth client secret',
    expected: fileExpected,
    default: '',
    schema: secretFile,
  },
  KAFKA_SASL_OAUTHBEARER_SCOPE: {
    description: 'OAUTHBEARER: scope asked of the token endpoint; empty asks for none',
    expected: 'space-separated scopes, or empty',
    default: '',
    schema: z.string(),
  },
  KAFKA_SSL_CA_FILE: {
    description:
      "SSL/SASL_SSL: CA bundle the brokers' certificates are checked against; empty: the system CAs",
    expected: pemExpected,
    default: '',
    schema: pemFile,
  },
  KAFKA_SSL_CERT_FILE: {
    description: 'SSL/SASL_SSL: client certificate for mutual TLS (with KAFKA_SSL_KEY_FILE)',
    expected: pemExpected,
    default: '',
    schema: pemFile,
  },
  KAFKA_SSL_KEY_FILE: {
    description: 'SSL/SASL_SSL: private key of the client certificate (with KAFKA_SSL_CERT_FILE)',
    expected: pemExpected,
    default: '',
    schema: pemFile,
  },
  KAFKA_SSL_REJECT_UNAUTHORIZED: {
    description: 'SSL/SASL_SSL: refuse brokers whose certificate does not check out (false only for tests)',
    expected: 'true or false',
    default: 'true',
    schema: z.enum(['true', 'false'], { message: 'not true or false' }).transform((s) => s === 'true'),
  },
  NEO4J_URI: {
    description: 'Neo4j Bolt URI',
    expected:
      'a URL with scheme bolt, bolt+s, bolt+ssc, neo4j, neo4j+s or neo4j+ssc, e.g. bolt://127.0.0.1:7687',
    default: 'bolt://127.0.0.1:7687',
    schema: urlWithScheme(['bolt', 'bolt+s', 'bolt+ssc', 'neo4j', 'neo4j+s', 'neo4j+ssc']),
  },
  NEO4J_USERNAME: {
    description: 'Neo4j user (ignored when NEO4J_PASSWORD is empty: the local stack runs with auth off)',
    expected: 'a user name',
    default: 'neo4j',
    schema: z.string(),
  },
  NEO4J_PASSWORD: {
    description: 'Neo4j password; empty means no authentication',
    expected: 'a password, or empty for no authentication',
    default: '',
    secret: true,
    schema: z.string(),
  },
  NEO4J_PASSWORD_FILE: {
    description: 'File holding the Neo4j password (instead of NEO4J_PASSWORD)',
    expected: fileExpected,
    default: '',
    schema: secretFile,
  },
  NEO4J_DATABASE: {
    description: 'Neo4j database name',
    expected: 'a database name',
    default: 'neo4j',
    schema: nonEmpty,
  },
  REDIS_URL: {
    description: 'Redis URL (credentials may be in the URL)',
    expected: 'a URL with scheme redis or rediss, e.g. redis://127.0.0.1:6379/0',
    default: 'redis://127.0.0.1:6379',
    secret: true,
    schema: urlWithScheme(['redis', 'rediss']),
  },
  REDIS_USERNAME: {
    description: 'Redis ACL user, when not in REDIS_URL',
    expected: 'a user name, or empty',
    default: '',
    schema: z.string(),
  },
  REDIS_PASSWORD_FILE: {
    description: 'File holding the Redis password, when not in REDIS_URL',
    expected: fileExpected,
    default: '',
    schema: secretFile,
  },
  REDIS_TLS_CA_FILE: {
    description:
      "CA bundle Redis's certificate is checked against (with a rediss:// URL); empty: the system CAs",
    expected: pemExpected,
    default: '',
    schema: pemFile,
  },
  S3_ENDPOINT: {
    description: 'S3-compatible endpoint (MinIO in production, s3proxy locally)',
    expected: 'an http or https URL, e.g. http://127.0.0.1:9000',
    default: 'http://127.0.0.1:9000',
    schema: urlWithScheme(['http', 'https']),
  },
  S3_ACCESS_KEY: {
    description: 'S3 access key',
    expected: 'a non-empty access key',
    default: 'agentparty',
    schema: nonEmpty,
  },
  S3_SECRET_KEY: {
    description: 'S3 secret key',
    expected: 'a non-empty secret key',
    default: 'agentparty-secret',
    secret: true,
    schema: nonEmpty,
  },
  S3_SECRET_KEY_FILE: {
    description: 'File holding the S3 secret key (instead of S3_SECRET_KEY)',
    expected: fileExpected,
    default: '',
    schema: secretFile,
  },
  S3_CA_FILE: {
    description:
      "CA bundle the S3 endpoint's certificate is checked against (with an https endpoint); empty: the system CAs",
    expected: pemExpected,
    default: '',
    schema: pemFile,
  },
  S3_REGION: {
    description: 'S3 region',
    expected: 'a region name, e.g. us-east-1',
    default: 'us-east-1',
    schema: nonEmpty,
  },
  S3_BUCKET: {
    description: 'Bucket of the raw event archive',
    expected: 'an S3 bucket name (3-63 of a-z, 0-9, ., -)',
    default: 'agent-party-archive',
    schema: s3BucketName,
  },
  SCHEMA_REGISTRY_URL: {
    description: 'Confluent-compatible Schema Registry API base URL',
    expected: 'an http or https URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7',
    default: 'http://127.0.0.1:8081/apis/ccompat/v7',
    schema: urlWithScheme(['http', 'https']),
  },
  SCHEMA_REGISTRY_USERNAME: {
    description: 'Schema Registry basic-auth user; empty: no authentication',
    expected: 'a user name, or empty',
    default: '',
    schema: z.string(),
  },
  SCHEMA_REGISTRY_PASSWORD: {
    description: 'Schema Registry basic-auth password; or give SCHEMA_REGISTRY_PASSWORD_FILE',
    expected: 'a password, or empty',
    default: '',
    secret: true,
    schema: z.string(),
  },
  SCHEMA_REGISTRY_PASSWORD_FILE: {
    description: 'File holding the Schema Registry password',
    expected: fileExpected,
    default: '',
    schema: secretFile,
  },
  SCHEMA_ENCODING: {
    description:
      'How event values are encoded: the Schema Registry wire format, or Avro single-object encoding for deployments without a registry',
    expected: SCHEMA_ENCODINGS.join(' or '),
    default: 'registry',
    schema: z.enum(SCHEMA_ENCODINGS, { message: `not one of ${SCHEMA_ENCODINGS.join(', ')}` }),
  },
  PROCESSING_GUARANTEE: {
    description:
      'How the processor commits: exactly_once (output, state and offsets in one Kafka transaction) or at_least_once',
    expected: 'exactly_once or at_least_once',
    default: 'exactly_once',
    schema: z.enum(['exactly_once', 'at_least_once'], { message: 'not one of exactly_once, at_least_once' }),
  },
  PRODUCER_THREAD: {
    description:
      "exactly_once: build the processor's produce requests on a worker thread, beside processing (false: on the processing thread)",
    expected: 'true or false',
    default: 'true',
    schema: z.enum(['true', 'false'], { message: 'not true or false' }).transform((s) => s === 'true'),
  },
  COMMIT_INTERVAL_MS: {
    description:
      "How often the processor commits (its runtime's commitIntervalMs): shorter lowers the latency of results, longer writes fewer records (the caches keep only the last of more updates)",
    expected: 'a whole number of milliseconds >= 1',
    default: '100',
    schema: positiveInt,
  },
  CACHE_MAX_BYTES: {
    description:
      "Bytes the processor's state-store caches hold in all (cacheMaxBytes): a cached table or window store forwards and logs only the last update of a key per commit; 0 turns the caches off (every update goes out at once)",
    expected: 'a whole number of bytes >= 0',
    default: String(10 * 1024 * 1024),
    schema: wholeNumber,
  },
  MAX_TRANSACTION_RECORDS: {
    description:
      'Records one processor transaction holds at most (results, changelogs, repartition records): past it a commit follows at once (maxTransactionRecords)',
    expected: 'a whole number >= 1',
    default: '100000',
    schema: positiveInt,
  },
  TRANSACTION_TIMEOUT_MS: {
    description:
      "How long the broker lets a processor transaction stay open before aborting it (transactionTimeoutMs); at most the broker's transaction.max.timeout.ms",
    expected: 'a whole number of milliseconds >= 1000',
    default: '10000',
    schema: positiveInt.refine((n) => n >= 1000, 'must be at least 1000'),
  },
  INSTANCE_ID: {
    description:
      'A stable identity for this instance (a StatefulSet pod name): its static group membership and transactional id; empty keeps one in STATE_DIR',
    expected: 'empty, or 1-100 letters, digits, ., _ and -',
    default: '',
    schema: z.string().regex(/^[A-Za-z0-9._-]{0,100}$/, 'is not 1-100 letters, digits, ., _ and -'),
  },
  STATE_DIR: {
    description:
      "Where a processor keeps its instance id and lock (and its LMDB files with STATE_STORE=lmdb); empty means '<os tmpdir>/agent-party-streams'",
    expected: 'empty, or an absolute directory path',
    default: '',
    schema: z.string().refine((s) => s === '' || isAbsolute(s), 'is not an absolute path'),
  },
  STATE_STORE: {
    description:
      "Where the processor's tables (its key-value stores) keep their entries: memory, or lmdb (files under STATE_DIR, in the page cache the kernel can evict: for more entities than the process should hold, at some CPU per access); rebuilt from their changelogs at every start in memory, kept across a clean restart in lmdb",
    expected: 'memory or lmdb',
    default: 'memory',
    schema: z.enum(['memory', 'lmdb'], { message: 'not one of memory, lmdb' }),
  },
  WINDOW_STATE_STORE: {
    description:
      "With STATE_STORE=lmdb, where the processor's windows and sessions (its window and session stores) keep their entries: memory, or lmdb (experimental: a 1M-entity replay failed once inside lmdb-js, see the README)",
    expected: 'memory, or lmdb with STATE_STORE=lmdb',
    default: 'memory',
    schema: z.enum(['memory', 'lmdb'], { message: 'not one of memory, lmdb' }),
  },
  METRICS_PORT: {
    description: 'Port of the /metrics, /health and /ready endpoints of a processor or sink process',
    expected: 'a port number 0-65535 (0: any free port)',
    default: '9464',
    schema: port,
  },
  PROCESSOR_CONFIG: {
    description:
      'A JSON file of the Agent Party topology settings (windows, grace, thresholds, topic names); empty uses the defaults',
    expected: 'empty, or the path of a readable JSON file',
    default: '',
    schema: existingFileOrEmpty,
  },
  SINKS: {
    description:
      'Which sinks `agent-party run sinks` runs, each in its own consumer group: neo4j (the graph), redis (the read model), archive (raw events to S3)',
    expected: `a comma-separated subset of ${SINK_NAMES.join(', ')}`,
    default: SINK_NAMES.join(','),
    schema: z.string().transform((s, ctx) => {
      const names = s
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '')
      const unknown = names.filter((n) => !(SINK_NAMES as readonly string[]).includes(n))
      if (names.length === 0 || unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: names.length === 0 ? 'names no sink' : `has unknown sinks ${unknown.join(', ')}`,
        })
        return z.NEVER
      }
      return [...new Set(names)] as SinkName[]
    }),
  },
  SINK_GROUP_PREFIX: {
    description:
      'Consumer group of each sink: <prefix>-<sink> (its dead-letter topic: <prefix>-<sink>-dlq); two deployments on one cluster need two prefixes',
    expected: 'letters, digits, ., _ and -',
    default: 'agent-party-sink',
    schema: z.string().regex(/^[A-Za-z0-9._-]+$/, 'has characters other than letters, digits, ., _ and -'),
  },
  SINK_BATCH_SIZE: {
    description: 'Records a sink applies in one database transaction (Neo4j) or script call (Redis), at most',
    expected: 'a whole number >= 1',
    default: '1000',
    schema: positiveInt,
  },
  SINK_LINGER_MS: {
    description:
      'How long a sink waits for more records before applying a batch smaller than SINK_BATCH_SIZE',
    expected: 'a whole number of milliseconds >= 0',
    default: '50',
    schema: wholeNumber,
  },
  NEO4J_MAX_POOL_SIZE: {
    description: "Connections of the Neo4j driver's pool, at most",
    expected: 'a whole number >= 1',
    default: '50',
    schema: positiveInt,
  },
  NEO4J_MAX_CONNECTION_LIFETIME_MS: {
    description: 'Age after which a pooled Neo4j connection is closed and replaced',
    expected: 'a whole number of milliseconds >= 1',
    default: '3600000',
    schema: positiveInt,
  },
  REDIS_KEY_PREFIX: {
    description: 'Prefix of every key the Redis sink writes and the API reads',
    expected: 'a non-empty prefix, e.g. ap:',
    default: 'ap:',
    schema: nonEmpty,
  },
  ARCHIVE_RANGE_RECORDS: {
    description: 'Records of one archive object (one offset range of one partition) at most',
    expected: 'a whole number >= 1',
    default: '10000',
    schema: positiveInt,
  },
  ARCHIVE_IDLE_MS: {
    description: 'A partition idle this long closes its open archive range (uploads it)',
    expected: 'a whole number of milliseconds >= 1',
    default: '60000',
    schema: positiveInt,
  },
  ARCHIVE_RETENTION_DAYS: {
    description: 'Archive objects whose newest record is older than this are deleted by the archive sink',
    expected: 'a whole number of days >= 1',
    default: '90',
    schema: positiveInt,
  },
  BACKUP_BUCKET: {
    description:
      'Bucket of the graph backups (`agent-party backup`, under backups/<id>/); its own bucket, apart from the archive, so that its retention and access can differ. Created on the first backup when missing',
    expected: 'an S3 bucket name (3-63 of a-z, 0-9, ., -)',
    default: 'agent-party-backups',
    schema: s3BucketName,
  },
  BACKUP_RETENTION_DAYS: {
    description:
      'Graph backups older than this are deleted by `agent-party backup prune` (the newest backup is always kept)',
    expected: 'a whole number of days >= 1',
    default: '30',
    schema: positiveInt,
  },
  API_PORT: {
    description: 'Port of the query and ingest API (`agent-party run api`)',
    expected: 'a port number 0-65535 (0: any free port)',
    default: '8000',
    schema: port,
  },
  API_HOST: {
    description: 'Address the API listens on',
    expected: 'an IP address or host name, e.g. 0.0.0.0 or 127.0.0.1',
    default: '0.0.0.0',
    schema: nonEmpty,
  },
  API_USERS_FILE: {
    description:
      'JSON file of API users ([{username, role, passwordHash}], written by `agent-party users add`); empty: POST /token issues no token',
    expected: 'a path to a readable JSON file, or empty',
    default: '',
    schema: existingFileOrEmpty,
  },
  API_JWT_SECRET: {
    description: 'HS256 key that signs and checks API tokens (local use); empty: HS256 off',
    expected: 'at least 32 characters (e.g. `openssl rand -base64 48`), or empty',
    default: '',
    secret: true,
    schema: z.string().refine((s) => s === '' || s.length >= 32, 'is shorter than 32 characters'),
  },
  API_JWT_PRIVATE_KEY_FILE: {
    description:
      'RS256 private key (PKCS#8 PEM) with which POST /token signs, when the API issues RS256 tokens itself',
    expected: 'a path to a PEM file, or empty',
    default: '',
    schema: existingFileOrEmpty,
  },
  API_JWT_KEY_ID: {
    description: "Key id (`kid`) put in the header of RS256 tokens the API signs (the JWKS's id of that key)",
    expected: 'a key id, or empty',
    default: '',
    schema: z.string(),
  },
  API_JWT_JWKS_URL: {
    description: 'JWKS URL of the identity provider whose RS256 tokens the API accepts (production)',
    expected: 'an http or https URL, or empty',
    default: '',
    schema: z
      .string()
      .refine(
        (s) => s === '' || urlWithScheme(['http', 'https']).safeParse(s).success,
        'not a URL with scheme http or https',
      ),
  },
  API_JWT_ISSUER: {
    description: 'Issuer (`iss`) that API tokens must carry; POST /token issues tokens with it',
    expected: 'a non-empty string (a URL for an identity provider)',
    default: 'agent-party',
    schema: nonEmpty,
  },
  API_JWT_AUDIENCE: {
    description: 'Audience (`aud`) that API tokens must carry',
    expected: 'a non-empty string',
    default: 'agent-party-api',
    schema: nonEmpty,
  },
  API_TOKEN_TTL_SECONDS: {
    description: 'Lifetime of the tokens POST /token issues',
    expected: 'a whole number of seconds >= 1',
    default: '3600',
    schema: positiveInt,
  },
  API_RATE_LIMIT_PER_MINUTE: {
    description:
      'Requests per minute allowed per client (per user for authenticated requests, else per IP); 0: no limit',
    expected: 'a whole number >= 0',
    default: '1200',
    schema: wholeNumber,
  },
  API_CORS_ORIGINS: {
    description: 'Origins allowed by CORS; empty: CORS off (no CORS headers)',
    expected: 'comma-separated origins, e.g. https://dash.example.com, or empty',
    default: '',
    schema: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((o) => o.trim())
          .filter((o) => o !== ''),
      )
      .refine(
        (origins) => origins.every(isOrigin),
        'has an entry that is not an origin (scheme://host[:port])',
      ),
  },
  LAG_GROUPS: {
    description:
      "Consumer groups whose lag the API exports besides the project's own (the processor's application id and the sinks' groups)",
    expected: 'comma-separated group ids, or empty',
    default: '',
    schema: z.string().transform((s) =>
      s
        .split(',')
        .map((g) => g.trim())
        .filter((g) => g !== ''),
    ),
  },
  LAG_POLL_MS: {
    description: 'How often the API samples end offsets and committed offsets for the lag metrics',
    expected: 'a whole number of milliseconds >= 100',
    default: '5000',
    schema: positiveInt.refine((n) => n >= 100, 'must be at least 100'),
  },
  LOG_LEVEL: {
    description: 'Default log level',
    expected: LOG_LEVELS.join(', '),
    default: 'info',
    schema: logLevel,
  },
  LOG_LEVELS: {
    description: 'Log levels per component, overriding LOG_LEVEL',
    expected: 'comma-separated component=level pairs, e.g. kafka=debug,neo4j=warn',
    default: '',
    schema: componentLevels,
  },
} satisfies Record<string, VariableSpec<unknown>>

export type VariableName = keyof typeof variables

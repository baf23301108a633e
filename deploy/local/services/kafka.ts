// Apache Kafka 4.4 as one KRaft node (broker + controller) on 127.0.0.1, from jars that Maven
// copies per deploy/local/kafka/pom.xml. Storage is formatted once (meta.properties present =
// formatted); the config is rewritten on every start so port changes apply.
// Besides the PLAINTEXT listener everything uses, a SASL_PLAINTEXT listener (own port) takes
// SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN, so that the production connection code (SASL) is tested
// against a real broker: SCRAM users are added at runtime (addScramUser, the AlterUserScramCredentials
// API), the one PLAIN user is fixed in the listener's JAAS config (LOCAL_PLAIN_USER).

import { execFile } from 'node:child_process'
import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { Admin, alterUserScramCredentialsV0, Connection, ScramMechanisms } from '@platformatic/kafka'
import { StackError } from '../errors.js'
import { findJava } from '../java.js'
import { jvmFlags } from '../jvm.js'
import { assetPath } from '../layout.js'
import { fetchPomDependencies } from '../maven.js'
import type { LaunchSpec, ServiceContext, ServiceDefinition } from '../service.js'
import type { StackPorts } from '../types.js'

const run = promisify(execFile)

/**
 * The PLAIN user of the local SASL listener. Local-only credentials, like s3proxy's: they are in
 * stack.env (KAFKA_SASL_PLAIN_USERNAME / KAFKA_SASL_PLAIN_PASSWORD) for tests and shells.
 */
export const LOCAL_PLAIN_USER = { username: 'agentparty', password: 'agentparty-kafka-secret' } as const

const SASL_MECHANISMS = ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] as const

function jaasValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

function serverProperties(ports: StackPorts, dataDir: string): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${ports.kafkaController}`,
    listeners: `PLAINTEXT://127.0.0.1:${ports.kafka},CONTROLLER://127.0.0.1:${ports.kafkaController},SASL_PLAINTEXT://127.0.0.1:${ports.kafkaSasl}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${ports.kafka},SASL_PLAINTEXT://127.0.0.1:${ports.kafkaSasl}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map':
      'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    // The SASL listener: SCRAM users live in the cluster metadata (added with the admin API), the
    // PLAIN user in the JAAS config. No authorizer: an authenticated user may do what anyone on the
    // PLAINTEXT listener may.
    'sasl.enabled.mechanisms': SASL_MECHANISMS.join(','),
    'listener.name.sasl_plaintext.sasl.enabled.mechanisms': SASL_MECHANISMS.join(','),
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${LOCAL_PLAIN_USER.username}=${jaasValue(LOCAL_PLAIN_USER.password)};`,
    'log.dirs': dataDir,
    // Tests create their topics explicitly; a typo must fail, not create a topic.
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    'default.replication.factor': 1,
    // Internal topics on a single node: RF 1 / min ISR 1, and fewer partitions than the default
    // 50 so the first group / transaction / share-group use does not create 50 partitions.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 10,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'share.coordinator.state.topic.num.partitions': 10,
    'min.insync.replicas': 1,
    // Groups start at once instead of waiting 3 s for more members.
    'group.initial.rebalance.delay.ms': 0,
    // Classic protocol: let tests use short session timeouts (default min is 6 s).
    'group.min.session.timeout.ms': 1000,
    // KIP-848 `consumer` protocol: timeouts are broker-side; short defaults make failover tests
    // quick, and the low minimums let a test lower them further per group.
    'group.consumer.min.session.timeout.ms': 1000,
    'group.consumer.session.timeout.ms': 10000,
    'group.consumer.min.heartbeat.interval.ms': 500,
    'group.consumer.heartbeat.interval.ms': 1000,
    'group.share.min.session.timeout.ms': 1000,
    'group.share.min.heartbeat.interval.ms': 500,
    // 5 minutes is plenty for tests and bounds how long a crashed producer can hold a partition.
    'transaction.max.timeout.ms': 300000,
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': 10000,
    'log.retention.hours': 24,
    'log.segment.bytes': 128 * 1024 * 1024,
  }
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`
}

// Console appender: the process's stdout is <stack>/logs/kafka.log. Request/state-change loggers
// are very chatty at INFO on a test broker. Log4j's own shutdown hook is off: it raced Kafka's
// and silenced the second half of every shutdown (Kafka stops logging itself at the end).
const LOG4J2 = `status = warn
shutdownHook = disable
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
`

/** A Kafka Uuid string: 16 random bytes, base64url without padding, not starting with '-'. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

async function prepare(ctx: ServiceContext): Promise<LaunchSpec> {
  const java = findJava(17)
  const lib = ctx.layout.libDir('kafka')
  await fetchPomDependencies('Kafka 4.4 jars', assetPath('kafka', 'pom.xml'), lib, ctx.log)
  const dir = ctx.layout.serviceDir('kafka')
  const dataDir = path.join(dir, 'data')
  await mkdir(dataDir, { recursive: true })
  const propsFile = path.join(dir, 'server.properties')
  await writeFile(propsFile, serverProperties(ctx.ports, dataDir))
  await writeFile(path.join(dir, 'log4j2.properties'), LOG4J2)
  const classpath = `${lib}/*`
  const common = [
    `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${path.join(dir, 'logs')}`,
  ]

  // Format exactly once: a second format would fail, and a new cluster id would orphan the data.
  if (!existsSync(path.join(dataDir, 'meta.properties'))) {
    const idFile = path.join(dir, 'cluster.id')
    const clusterId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : newClusterId()
    await writeFile(idFile, `${clusterId}\n`)
    ctx.log(`kafka: formatting storage (cluster id ${clusterId})`)
    try {
      await run(
        java.java,
        [
          ...jvmFlags(ctx.layout.root, { heap: '256m', serialGc: true, c1Only: true }),
          ...common,
          '-cp',
          classpath,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          propsFile,
        ],
        { cwd: dir },
      )
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string }
      throw new StackError(
        'START_FAILED',
        `kafka: formatting the storage in ${dataDir} failed. Delete ${dir} (or run \`agent-party stack reset\`) and retry.\n${e.stdout ?? ''}${e.stderr ?? ''}`,
        { service: 'kafka', cause: err },
      )
    }
  }

  return {
    command: java.java,
    args: [
      // Kafka's own defaults (kafka-run-class.sh): G1 with short pauses, 1 GiB heap. It is
      // benchmarked, so it keeps the C2 compiler and its default GC.
      ...jvmFlags(ctx.layout.root, { heap: '1g' }),
      '-Xms256m',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      ...common,
      '-cp',
      classpath,
      'kafka.Kafka',
      propsFile,
    ],
  }
}

/** Ready = the broker answers a metadata request and lists itself (registered and unfenced). */
async function probe(ports: StackPorts): Promise<boolean> {
  const admin = new Admin({
    clientId: 'agent-party-stack-probe',
    bootstrapBrokers: [`127.0.0.1:${ports.kafka}`],
    retries: 0,
    timeout: 2000,
    connectTimeout: 1000,
    requestTimeout: 2000,
  })
  try {
    const md = await admin.metadata({ topics: [] })
    return md.brokers.size > 0
  } catch {
    return false
  } finally {
    await admin.close().catch(() => {})
  }
}

/**
 * Creates (or resets the password of) a SCRAM user through the admin API, over the PLAINTEXT
 * listener at `bootstrap` (host:port): what `kafka-configs --alter --add-config SCRAM-SHA-512=[...]`
 * does. The broker stores only the salted password.
 */
export async function addScramUser(
  bootstrap: string,
  username: string,
  password: string,
  mechanism: ScramMechanism = 'SCRAM-SHA-512',
): Promise<void> {
  const iterations = 4096
  const salt = randomBytes(32)
  const hash = mechanism === 'SCRAM-SHA-512' ? 'sha512' : 'sha256'
  const saltedPassword = pbkdf2Sync(password, salt, iterations, hash === 'sha512' ? 64 : 32, hash)
  await alterScram(
    bootstrap,
    [],
    [{ name: username, mechanism: SCRAM[mechanism], iterations, salt, saltedPassword }],
  )
}

/** Deletes a SCRAM user's credential of `mechanism` (addScramUser's undo). */
export async function deleteScramUser(
  bootstrap: string,
  username: string,
  mechanism: ScramMechanism = 'SCRAM-SHA-512',
): Promise<void> {
  await alterScram(bootstrap, [{ name: username, mechanism: SCRAM[mechanism] }], [])
}

type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512'
const SCRAM = {
  'SCRAM-SHA-256': ScramMechanisms.SCRAM_SHA_256,
  'SCRAM-SHA-512': ScramMechanisms.SCRAM_SHA_512,
} as const

async function alterScram(
  bootstrap: string,
  ...request: Parameters<typeof alterUserScramCredentialsV0.api.async> extends [unknown, ...infer R]
    ? R
    : never
): Promise<void> {
  const host = bootstrap.slice(0, bootstrap.lastIndexOf(':'))
  const port = Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1))
  const connection = new Connection('agent-party-stack-scram', {
    connectTimeout: 5000,
    requestTimeout: 10000,
  })
  try {
    await connection.connect(host, port)
    const response = await alterUserScramCredentialsV0.api.async(connection, ...request)
    const failed = response.results.find((r) => r.errorCode !== 0)
    if (failed) {
      throw new StackError(
        'START_FAILED',
        `kafka: changing the SCRAM credentials of ${failed.user} failed (error ${failed.errorCode}: ${failed.errorMessage ?? ''})`,
        { service: 'kafka' },
      )
    }
  } finally {
    await connection.close().catch(() => {})
  }
}

export const kafka: ServiceDefinition = {
  name: 'kafka',
  portKeys: ['kafka', 'kafkaController', 'kafkaSasl'],
  startTimeoutMs: 120_000,
  // Controlled shutdown of a single node takes a few seconds; give it time to flush.
  stopTimeoutMs: 30_000,
  prepare,
  probe,
  // Not the KAFKA_SASL_* names of config/env.ts: stack.env is loaded as configuration, and the
  // project talks to the PLAINTEXT listener unless told otherwise.
  env: (p) => ({
    KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${p.kafka}`,
    KAFKA_SASL_BOOTSTRAP_SERVERS: `127.0.0.1:${p.kafkaSasl}`,
    KAFKA_SASL_PLAIN_USERNAME: LOCAL_PLAIN_USER.username,
    KAFKA_SASL_PLAIN_PASSWORD: LOCAL_PLAIN_USER.password,
  }),
}

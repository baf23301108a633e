// The one place that builds @platformatic/kafka clients for the rest of the project, so that
// every producer gets the same safe defaults: idempotence, Java-compatible key placement, and the
// "new producer" id/epoch that makes transactional restarts work; and every client (producer,
// consumer, admin) the same connection security: TLS and SASL from configuration (baseOptions).
import { readFile } from 'node:fs/promises'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import {
  Admin,
  type BaseOptions,
  Consumer,
  type ConsumerOptions,
  findErrorBy,
  Producer,
  type ProducerOptions,
} from '@platformatic/kafka'
import type { Config, KafkaSasl, KafkaTls } from '../config/config.js'
import { keyPartitioner } from './murmur2.js'

/**
 * What a client needs of config.kafka. The security fields are optional so that code holding only
 * brokers (tools, tests) can build one; absent means PLAINTEXT.
 */
export type KafkaConfig = Pick<Config['kafka'], 'bootstrapServers' | 'clientId' | 'replicationFactor'> & {
  readonly sasl?: KafkaSasl | undefined
  readonly tls?: KafkaTls | undefined
}

/** The SASL and TLS part of a Kafka configuration, for code that builds its own client settings. */
export function kafkaConnection(kafka: KafkaConfig): Pick<KafkaConfig, 'sasl' | 'tls'> {
  return {
    ...(kafka.sasl === undefined ? {} : { sasl: kafka.sasl }),
    ...(kafka.tls === undefined ? {} : { tls: kafka.tls }),
  }
}

/**
 * InitProducerId with the protocol's "new producer" values. The client otherwise sends producer
 * id 0 / epoch 0, which the coordinator treats as an attempt to resume producer 0: a
 * transactional producer restarted with the same transactionalId then fails with
 * PRODUCER_FENCED (error 90) forever. With -1/-1 the coordinator aborts the dead instance's open
 * transaction, bumps the epoch and lets the new instance in. Exactly-once recovery depends on it.
 */
export const NEW_PRODUCER = { producerId: -1n, producerEpoch: -1 } as const

export function baseOptions(kafka: KafkaConfig, clientIdSuffix: string): BaseOptions {
  return {
    clientId: `${kafka.clientId}-${clientIdSuffix}`,
    bootstrapBrokers: kafka.bootstrapServers,
    ...securityOptions(kafka),
  }
}

/** The TLS and SASL options of every client: none for PLAINTEXT. */
export function securityOptions(kafka: KafkaConfig): Pick<BaseOptions, 'tls' | 'sasl'> {
  const out: Pick<BaseOptions, 'tls' | 'sasl'> = {}
  if (kafka.tls) {
    const tls: TlsOptions = { rejectUnauthorized: kafka.tls.rejectUnauthorized }
    if (kafka.tls.ca !== undefined) tls.ca = kafka.tls.ca
    if (kafka.tls.cert !== undefined) tls.cert = kafka.tls.cert
    if (kafka.tls.key !== undefined) tls.key = kafka.tls.key
    out.tls = tls
  }
  if (kafka.sasl) out.sasl = saslOptions(kafka.sasl)
  return out
}

function saslOptions(sasl: KafkaSasl): NonNullable<BaseOptions['sasl']> {
  if (sasl.mechanism !== 'OAUTHBEARER') {
    return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password }
  }
  if ('tokenFile' in sasl) {
    const file = sasl.tokenFile
    // Read at every authentication (the client calls the provider each time), so a sidecar that
    // renews the file renews the session's token too.
    return {
      mechanism: 'OAUTHBEARER',
      token: async () => {
        const token = await readFile(file, 'utf8').then(
          (text) => text.trim(),
          (error: NodeJS.ErrnoException) => {
            throw new Error(`KAFKA_SASL_OAUTHBEARER_TOKEN_FILE ${file} cannot be read (${error.code})`)
          },
        )
        if (token === '') throw new Error(`KAFKA_SASL_OAUTHBEARER_TOKEN_FILE ${file} is empty`)
        return token
      },
    }
  }
  return { mechanism: 'OAUTHBEARER', token: clientCredentialsToken(sasl) }
}

/**
 * Tokens of an OAuth 2 client credentials grant (RFC 6749 4.4; client authenticated with HTTP
 * basic, as Kafka's own OAUTHBEARER login handler does), kept until 80% of their lifetime.
 */
export function clientCredentialsToken(
  sasl: Extract<KafkaSasl, { tokenUrl: string }>,
  fetchImpl: typeof fetch = fetch,
): () => Promise<string> {
  let cached: { token: string; renewAt: number } | undefined
  return async () => {
    if (cached && Date.now() < cached.renewAt) return cached.token
    const body = new URLSearchParams({ grant_type: 'client_credentials' })
    if (sasl.scope !== undefined) body.set('scope', sasl.scope)
    const basic = Buffer.from(
      `${encodeURIComponent(sasl.clientId)}:${encodeURIComponent(sasl.clientSecret)}`,
    ).toString('base64')
    const response = await fetchImpl(sasl.tokenUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(10_000),
    })
    if (!response.ok) {
      throw new Error(
        `KAFKA_SASL_OAUTHBEARER_TOKEN_URL ${sasl.tokenUrl} answered ${response.status} to the client credentials grant`,
      )
    }
    const json = (await response.json()) as { access_token?: unknown; expires_in?: unknown }
    if (typeof json.access_token !== 'string' || json.access_token === '') {
      throw new Error(`KAFKA_SASL_OAUTHBEARER_TOKEN_URL ${sasl.tokenUrl} answered without an access_token`)
    }
    const lifetimeS = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 300
    cached = { token: json.access_token, renewAt: Date.now() + lifetimeS * 800 }
    return json.access_token
  }
}

type ExtraProducerOptions<K, V, HK, HV> = Omit<
  ProducerOptions<K, V, HK, HV>,
  'clientId' | 'bootstrapBrokers' | 'producerId' | 'producerEpoch' | 'transactionalId' | 'idempotent'
> & { clientId?: string }

/**
 * An idempotent producer (acks=all, no duplicates on retry) that places keys as Java clients do
 * (murmur2, positive hash modulo the partition count) for every partition count.
 */
export function createProducer<K = Buffer, V = Buffer, HK = Buffer, HV = Buffer>(
  kafka: KafkaConfig,
  options: ExtraProducerOptions<K, V, HK, HV> = {},
): Producer<K, V, HK, HV> {
  const { clientId, ...rest } = options
  return new Producer<K, V, HK, HV>({
    ...baseOptions(kafka, clientId ?? 'producer'),
    partitioner: keyPartitioner,
    ...rest,
    idempotent: true,
    ...NEW_PRODUCER,
  })
}

/** Retries of a transactional producer's requests (the client's default is 3). */
export const TRANSACTIONAL_RETRIES = 20

/**
 * How long a transactional producer waits before retrying a request. Right after a commit the
 * coordinator is still writing the previous transaction's markers (to every partition it touched:
 * hundreds on P8), and answers the next transaction's AddPartitionsToTxn (or AddOffsetsToTxn,
 * InitProducerId) with CONCURRENT_TRANSACTIONS. That clears in tens of milliseconds on an idle broker
 * and in up to about a second on a busy one; the client's default wait of 1 s added that second to a
 * third of P8's commits at 2k events/s, the tail of every latency (bench/RESULTS.md R16). Like the
 * Java producer (20 ms for this error), it is retried after 20, 40 and 80 ms, then every 100 ms up to
 * 840 ms, then every 250 ms: 3.3 s in all over TRANSACTIONAL_RETRIES, no less than the 3 s the
 * defaults allowed, with a wait never far past the moment it clears (a doubling wait overshot by up to
 * 600 ms on the busy broker). Any other retriable error waits 1 s, as before (with up to 20 tries
 * instead of 4: the Java producer retries such requests for up to a minute).
 */
export function transactionalRetryDelay(
  _client: unknown,
  _operation: string,
  attempt: number,
  _retries: number,
  error: unknown,
): number {
  if (findErrorBy(error as Error, 'apiId', 'CONCURRENT_TRANSACTIONS') !== null) {
    return attempt <= 10 ? Math.min(20 * 2 ** (attempt - 1), 100) : 250
  }
  return 1000
}

/**
 * A transactional producer. `transactionalId` must be stable across restarts of the same
 * logical producer (an instance id, never a random value), so that a restart fences the old one.
 */
export function createTransactionalProducer<K = Buffer, V = Buffer, HK = Buffer, HV = Buffer>(
  kafka: KafkaConfig,
  transactionalId: string,
  options: ExtraProducerOptions<K, V, HK, HV> = {},
): Producer<K, V, HK, HV> {
  if (transactionalId.trim() === '') throw new TypeError('transactionalId must be a non-empty, stable id')
  const { clientId, ...rest } = options
  return new Producer<K, V, HK, HV>({
    ...baseOptions(kafka, clientId ?? `txn-${transactionalId}`),
    partitioner: keyPartitioner,
    retries: TRANSACTIONAL_RETRIES,
    retryDelay: transactionalRetryDelay,
    ...rest,
    idempotent: true,
    transactionalId,
    ...NEW_PRODUCER,
  })
}

type ExtraConsumerOptions<K, V, HK, HV> = Omit<
  ConsumerOptions<K, V, HK, HV>,
  'clientId' | 'bootstrapBrokers' | 'groupId'
> & { clientId?: string }

export function createConsumer<K = Buffer, V = Buffer, HK = Buffer, HV = Buffer>(
  kafka: KafkaConfig,
  groupId: string,
  options: ExtraConsumerOptions<K, V, HK, HV> = {},
): Consumer<K, V, HK, HV> {
  const { clientId, ...rest } = options
  return new Consumer<K, V, HK, HV>({
    ...baseOptions(kafka, clientId ?? `consumer-${groupId}`),
    ...rest,
    groupId,
  } as ConsumerOptions<K, V, HK, HV>)
}

export function createAdmin(kafka: KafkaConfig, clientIdSuffix = 'admin'): Admin {
  return new Admin(baseOptions(kafka, clientIdSuffix))
}

/**
 * The partition a key goes to among `partitions`, as the project's producers and Java's default
 * partitioner place it (murmur2, positive, modulo the count): for callers that must know a record's
 * partition before sending it.
 */
export function keyPartition(key: Buffer, partitions: number): number {
  return keyPartitioner(undefined, key) % partitions
}

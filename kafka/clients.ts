// The one place that builds @platformatic/kafka clients for the rest of the project, so that
// every producer gets the same safe defaults: idempotence, Java-compatible key placement, and the
// "new producer" id/epoch that makes transactional restarts work.
import {
  Admin,
  type BaseOptions,
  Consumer,
  type ConsumerOptions,
  compatibilityPartitioner,
  Producer,
  type ProducerOptions,
} from '@platformatic/kafka'
import type { Config } from '../config/config.js'

export type KafkaConfig = Config['kafka']

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
    partitioner: compatibilityPartitioner,
    ...rest,
    idempotent: true,
    ...NEW_PRODUCER,
  })
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
    partitioner: compatibilityPartitioner,
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
  return compatibilityPartitioner(undefined as never, key) % partitions
}

// Key placement against the Java client's: the table (fixtures/java-partitions.ts) was computed once by Java
// (test/unit/schemas/java/JavaPartitions.java, Kafka's Utils.murmur2 and toPositive, modulo the
// partition count) from generator entity ids, component names and a few UTF-8 keys. Every producer of
// the project places keys with keyPartitioner (kafka/murmur2.ts, through kafka/clients.ts createProducer),
// so it must match for counts that are not powers of two too.
import { defaultPartitioner, type MessageToProduce } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { keyPartition } from '../../../kafka/clients.js'
import { JAVA_PARTITION_COUNTS as COUNTS, JAVA_PARTITIONS } from './fixtures/java-partitions.js'

const message = { topic: 't' } as MessageToProduce

describe('key placement', () => {
  it.each(JAVA_PARTITIONS)('%s goes where Java puts it', (key, ...expected) => {
    expect(COUNTS.map((count) => keyPartition(Buffer.from(key, 'utf8'), count))).toEqual(expected)
  })

  it("the client's default partitioner would not match Java for 3 partitions (why createProducer overrides it)", () => {
    const differing = JAVA_PARTITIONS.filter(
      ([key, p3]) => defaultPartitioner(message, Buffer.from(key, 'utf8')) % 3 !== p3,
    )
    expect(differing.length).toBeGreaterThan(0)
  })
})

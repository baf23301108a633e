// Key placement against the Java client's: the table (fixtures/java-partitions.ts) was computed once by Java
// (test/unit/schemas/java/JavaPartitions.java, Kafka's Utils.murmur2 and toPositive, modulo the
// partition count) from generator entity ids, component names and a few UTF-8 keys. Every producer of
// the project uses compatibilityPartitioner (kafka/clients.ts createProducer), so it must match for
// counts that are not powers of two too.
import { compatibilityPartitioner, defaultPartitioner, type MessageToProduce } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { JAVA_PARTITION_COUNTS as COUNTS, JAVA_PARTITIONS } from './fixtures/java-partitions.js'

const message = { topic: 't' } as MessageToProduce

describe('key placement', () => {
  it.each(JAVA_PARTITIONS)('%s goes where Java puts it', (key, ...expected) => {
    const hash = compatibilityPartitioner(message, Buffer.from(key, 'utf8'))
    expect(COUNTS.map((count) => hash % count)).toEqual(expected)
  })

  it("the client's default partitioner would not match Java for 3 partitions (why createProducer overrides it)", () => {
    const differing = JAVA_PARTITIONS.filter(
      ([key, p3]) => defaultPartitioner(message, Buffer.from(key, 'utf8')) % 3 !== p3,
    )
    expect(differing.length).toBeGreaterThan(0)
  })
})

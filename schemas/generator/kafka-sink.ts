// Writes generated records to Kafka with the project's idempotent producer (Java-compatible key
// placement), one send per batch: keys as UTF-8 entity ids, the event time as record timestamp.
import type { KafkaConfig } from '../../kafka/clients.js'
import { createProducer } from '../../kafka/clients.js'
import type { OutgoingRecord, RecordSink } from './record-sink.js'

export function kafkaSink(kafka: KafkaConfig, clientId = 'generator'): RecordSink {
  const producer = createProducer(kafka, { clientId })
  return {
    async write(batch: readonly OutgoingRecord[]): Promise<void> {
      await producer.send({
        messages: batch.map((r) => ({
          topic: r.topic,
          key: r.key,
          value: r.value,
          timestamp: BigInt(r.timestamp),
        })),
      })
    },
    close: () => producer.close(),
  }
}

// Writes generated records to a fixture file, JSONL or binary (see the two format files), honouring
// the stream's backpressure so a large fixture does not sit in memory.
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { encodeFixtureRecord, fixtureFileHeader } from './fixture-binary-format.js'
import { encodeJsonlRecord } from './fixture-jsonl-format.js'
import type { OutgoingRecord, RecordSink } from './record-sink.js'

export type FixtureFormat = 'jsonl' | 'binary'

export function fileSink(path: string, format: FixtureFormat): RecordSink {
  const stream = createWriteStream(path)
  if (format === 'binary') stream.write(fixtureFileHeader())
  const failed = once(stream, 'error').then(([error]) => {
    throw error
  })
  failed.catch(() => {})
  return {
    async write(batch: readonly OutgoingRecord[]): Promise<void> {
      const chunks = batch.map((r) =>
        format === 'binary' ? encodeFixtureRecord(r) : encodeJsonlRecord(r, r.event),
      )
      if (!stream.write(format === 'binary' ? Buffer.concat(chunks as Buffer[]) : chunks.join(''))) {
        await Promise.race([once(stream, 'drain'), failed])
      }
    },
    async close(): Promise<void> {
      stream.end()
      await Promise.race([once(stream, 'finish'), failed])
    },
  }
}

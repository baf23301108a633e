import { describe, expect, it } from 'vitest'
import { DEAD_LETTER_HEADERS, deadLetterRecord, readDeadLetterHeaders } from '../../../kafka/dead-letter.js'

describe('deadLetterRecord', () => {
  const source = {
    topic: 'agent_events',
    partition: 5,
    offset: 1234n,
    key: Buffer.from('agent-1'),
    value: Buffer.from([0, 0, 0, 0, 9, 1, 2]),
    timestamp: 1_767_225_600_000n,
    headers: new Map([[Buffer.from('trace'), Buffer.from('abc')]]),
  }

  it('keeps key, value, timestamp and headers, and adds reason, origin and details', () => {
    const record = deadLetterRecord(
      'agent_party.dead_letters',
      source,
      {
        code: 'UNKNOWN_SCHEMA_ID',
        reason: 'schema id 9 is not in the registry',
        details: { schemaId: 9, fingerprint: undefined },
      },
      new Date('2026-11-27T00:00:00Z'),
    )
    expect(record.topic).toBe('agent_party.dead_letters')
    expect(record.key).toEqual(source.key)
    expect(record.value).toEqual(source.value)
    expect(record.timestamp).toBe(source.timestamp)
    const headers = record.headers as Map<Buffer, Buffer>
    expect(readDeadLetterHeaders(headers)).toEqual({
      [DEAD_LETTER_HEADERS.code]: 'UNKNOWN_SCHEMA_ID',
      [DEAD_LETTER_HEADERS.reason]: 'schema id 9 is not in the registry',
      [DEAD_LETTER_HEADERS.topic]: 'agent_events',
      [DEAD_LETTER_HEADERS.partition]: '5',
      [DEAD_LETTER_HEADERS.offset]: '1234',
      [DEAD_LETTER_HEADERS.failedAt]: '2026-11-27T00:00:00.000Z',
      'dead-letter.detail.schemaId': '9',
    })
    expect([...headers].find(([k]) => k.toString() === 'trace')?.[1].toString()).toBe('abc')
  })

  it('handles a record without key or value (a tombstone)', () => {
    const record = deadLetterRecord(
      'dlq',
      { topic: 't', partition: 0, offset: 0n, key: null, value: null },
      { code: 'X', reason: 'y' },
    )
    expect(record.key).toBeUndefined()
    expect(record.value).toBeUndefined()
  })
})

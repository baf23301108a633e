import avsc from 'avsc'
import { describe, expect, it } from 'vitest'
import { rabinFingerprint64, toSignedFingerprint } from '../../../schemas/rabin-fingerprint.js'

// From Apache Avro's share/test/data/schema-tests.txt: input, Parsing Canonical Form, fingerprint
// (Java's signed 64-bit SchemaNormalization.parsingFingerprint64).
const VECTORS: [unknown, string, bigint][] = [
  ['null', '"null"', 7195948357588979594n],
  ['boolean', '"boolean"', -6970731678124411036n],
  ['int', '"int"', 8247732601305521295n],
  ['string', '"string"', -8142146995180207161n],
  [
    { fields: [], type: 'record', name: 'foo', namespace: 'x.y' },
    '{"name":"x.y.foo","type":"record","fields":[]}',
    5916914534497305771n,
  ],
  [
    {
      fields: [
        { type: 'boolean', aliases: [], name: 'f1', default: true },
        { order: 'descending', name: 'f2', doc: 'Hello', type: 'int' },
      ],
      type: 'record',
      name: 'foo',
    },
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n,
  ],
  [
    { namespace: 'x.y.z', type: 'enum', name: 'foo', doc: 'foo bar', symbols: ['A1', 'A2'] },
    '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    -4448647247586288245n,
  ],
  [{ items: { type: 'null' }, type: 'array' }, '{"type":"array","items":"null"}', -589620603366471059n],
  [
    {
      name: 'PigValue',
      type: 'record',
      fields: [{ name: 'value', type: ['null', 'int', 'long', 'PigValue'] }],
    },
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    -1759257747318642341n,
  ],
]

describe('CRC-64-AVRO over the Parsing Canonical Form', () => {
  it.each(VECTORS)('matches Avro test data for %j', (schema, canonical, fingerprint) => {
    const form = JSON.stringify(avsc.Type.forSchema(schema as avsc.Schema).schema())
    expect(form).toBe(canonical)
    expect(toSignedFingerprint(rabinFingerprint64(Buffer.from(form)))).toBe(fingerprint)
  })
})

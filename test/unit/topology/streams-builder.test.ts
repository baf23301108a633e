// build() refuses invalid DSL use, each problem with its code and a message that says what to change.
import { describe, expect, it } from 'vitest'
import {
  Materialized,
  Serdes,
  Stores,
  StreamsBuilder,
  TopologyBuildError,
  type TopologyErrorCode,
} from '../../../topology/index.js'

const str = Serdes.String()
const num = Serdes.Number()

function buildError(define: (b: StreamsBuilder) => void): TopologyBuildError {
  const b = new StreamsBuilder()
  define(b)
  try {
    b.build()
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyBuildError)
    return error as TopologyBuildError
  }
  throw new Error('build() did not fail')
}

const cases: [string, TopologyErrorCode, RegExp, (b: StreamsBuilder) => void][] = [
  [
    'a source without serdes',
    'MISSING_SERDE',
    /source KSTREAM-SOURCE-0000000000 \(topic in\) has no key and value serdes: pass them to builder\.stream\('in', \{ keySerde, valueSerde \}\)/,
    (b) => b.stream('in').to('out', { keySerde: str, valueSerde: num }),
  ],
  [
    'a sink whose value serde was dropped by mapValues',
    'MISSING_SERDE',
    /sink KSTREAM-SINK-0000000002 \(topic out\) has no value serde: pass them to to\('out', \{ keySerde, valueSerde \}\)/,
    (b) =>
      b
        .stream<string, number>('in', { keySerde: str, valueSerde: num })
        .mapValues((v) => `${v}`)
        .to('out'),
  ],
  [
    'a re-keyed grouping without serdes for its repartition topic',
    'MISSING_SERDE',
    /KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition\) has no key serde: the key changed before this grouping.*groupBy\(selector, \{ keySerde, valueSerde \}\)/,
    (b) =>
      b
        .stream<string, number>('in', { keySerde: str, valueSerde: num })
        .groupBy((_k, v) => v)
        .count(),
  ],
  [
    'an aggregate store without a value serde for its changelog',
    'MISSING_SERDE',
    /store totals has no value serde for its changelog: pass Materialized\.as\('totals'\)/,
    (b) =>
      b
        .stream<string, number>('in', { keySerde: str, valueSerde: num })
        .groupByKey()
        .aggregate(
          () => ({ n: 0 }),
          (_k, _v, a) => a,
          Materialized.as('totals'),
        ),
  ],
  [
    'a store name used twice',
    'DUPLICATE_NAME',
    /the store name counts is used twice/,
    (b) => {
      const g = b.stream<string, number>('in', { keySerde: str, valueSerde: num }).groupByKey()
      g.count(Materialized.as('counts'))
      g.count(Materialized.as('counts'))
    },
  ],
  [
    'a processor name used twice',
    'DUPLICATE_NAME',
    /the name only-big is used by two processors/,
    (b) => {
      const s = b.stream<string, number>('in', { keySerde: str, valueSerde: num })
      s.filter(() => true, { name: 'only-big' })
      s.filter(() => true, { name: 'only-big' })
    },
  ],
  [
    'a store referenced but never added',
    'UNKNOWN_STORE',
    /processor KSTREAM-PROCESSOR-0000000001 uses store seen, which was never added: call builder\.addStateStore\(Stores\.keyValueStoreBuilder\('seen'/,
    (b) =>
      b
        .stream<string, number>('in', { keySerde: str, valueSerde: num })
        .process(() => ({ process() {} }), 'seen'),
  ],
  [
    'a stateful processor after a key-changing operation',
    'REPARTITION_REQUIRED',
    /uses stores \[seen\] after a key-changing operation: call \.repartition\(\{ keySerde, valueSerde \}\) before \.process\(\)/,
    (b) => {
      b.addStateStore(Stores.keyValueStoreBuilder('seen', str, num))
      b.stream<string, number>('in', { keySerde: str, valueSerde: num })
        .selectKey((_k, v) => `${v}`)
        .process(() => ({ process() {} }), 'seen')
    },
  ],
  [
    'a topic read twice',
    'INVALID_TOPOLOGY',
    /topic in is read by both KSTREAM-SOURCE-0000000000 and KSTREAM-SOURCE-0000000001/,
    (b) => {
      b.stream('in', { keySerde: str, valueSerde: num })
      b.stream('in', { keySerde: str, valueSerde: num })
    },
  ],
  [
    'an empty topology',
    'INVALID_TOPOLOGY',
    /reads no topic: start it with builder\.stream\(\) or builder\.table\(\)/,
    () => {},
  ],
]

describe('StreamsBuilder.build() errors', () => {
  for (const [what, code, message, define] of cases) {
    it(`refuses ${what} with ${code}`, () => {
      const error = buildError(define)
      expect(error.code).toBe(code)
      expect(error.retryable).toBe(false)
      expect(error.message).toMatch(message)
    })
  }

  it('reports every problem at once', () => {
    const error = buildError((b) => {
      b.stream('a')
      b.stream('b').process(() => ({ process() {} }), 'missing')
    })
    expect(error.problems.map((p) => p.code)).toEqual(['UNKNOWN_STORE', 'MISSING_SERDE', 'MISSING_SERDE'])
  })

  it('fills missing serdes from the builder defaults', () => {
    const b = new StreamsBuilder({ defaultKeySerde: str, defaultValueSerde: num as never })
    b.stream('in')
      .groupBy((_k, v) => `${v}`)
      .count()
    expect(() => b.build()).not.toThrow()
  })

  it('refuses an invalid name immediately', () => {
    expect(() => Materialized.as('has space')).toThrow(
      /INVALID_ARGUMENT: Store name "has space" is not valid/,
    )
  })
})

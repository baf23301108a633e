// Each KStream operator through the test driver, with the serdes of a real topic.
import { filter, map } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  Serdes,
  Stores,
  StreamRecord,
  StreamsBuilder,
  TopologyTestDriver,
} from '../../../topology/index.js'

const str = Serdes.String()
const num = Serdes.Number()

function run<V>(
  build: (b: StreamsBuilder) => void,
  input: [string | null, number | null, number?][],
  outputs: string[] = ['out'],
  valueSerde = num as unknown,
) {
  const b = new StreamsBuilder({ defaultKeySerde: str as never, defaultValueSerde: num as never })
  build(b)
  const driver = new TopologyTestDriver(b.build())
  const topic = driver.createInputTopic('in', str, num)
  for (const [k, v, ts] of input) topic.pipeInput(k, v, ts ?? 0)
  return Object.fromEntries(
    outputs.map((o) => [
      o,
      driver.createOutputTopic(o, str, valueSerde as typeof num).readKeyValuesToList() as [string, V][],
    ]),
  )
}

const src = (b: StreamsBuilder) => b.stream<string, number>('in', { keySerde: str, valueSerde: num })

describe('KStream', () => {
  it('filter and filterNot keep and drop by predicate', () => {
    const out = run(
      (b) => {
        const s = src(b)
        s.filter((_k, v) => v > 1).to('out')
        s.filterNot((_k, v) => v > 1).to('low')
      },
      [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ],
      ['out', 'low'],
    )
    expect(out.out).toEqual([
      ['b', 2],
      ['c', 3],
    ])
    expect(out.low).toEqual([['a', 1]])
  })

  it('map, mapValues, selectKey change key and value', () => {
    const out = run(
      (b) => {
        const s = src(b)
        s.map((k, v) => [`${k}!`, v * 10] as const).to('out')
        s.mapValues((v, k) => v + k.length).to('mv')
        s.selectKey((k, v) => `${k}${v}`).to('sk')
      },
      [['ab', 1]],
      ['out', 'mv', 'sk'],
    )
    expect(out).toEqual({ out: [['ab!', 10]], mv: [['ab', 3]], sk: [['ab1', 1]] })
  })

  it('flatMap and flatMapValues emit zero or more records', () => {
    const out = run(
      (b) => {
        const s = src(b)
        s.flatMap((k, v) => Array.from({ length: v }, (_, i) => [`${k}${i}`, i] as const)).to('out')
        s.flatMapValues((v) => (v > 1 ? [v, -v] : [])).to('fv')
      },
      [
        ['a', 2],
        ['b', 1],
      ],
      ['out', 'fv'],
    )
    expect(out.out).toEqual([
      ['a0', 0],
      ['a1', 1],
      ['b0', 0],
    ])
    expect(out.fv).toEqual([
      ['a', 2],
      ['a', -2],
    ])
  })

  it('peek sees every record and forwards it unchanged', () => {
    const seen: string[] = []
    const out = run(
      (b) =>
        src(b)
          .peek((k, v) => seen.push(`${k}=${v}`))
          .to('out'),
      [
        ['a', 1],
        ['b', 2],
      ],
    )
    expect(seen).toEqual(['a=1', 'b=2'])
    expect(out.out).toEqual([
      ['a', 1],
      ['b', 2],
    ])
  })

  it('split routes to the first matching branch, then the default', () => {
    const out = run(
      (b) => {
        const branches = src(b)
          .split({ name: 'size-' })
          .branch((_k, v) => v > 10, { name: 'big' })
          .branch((_k, v) => v > 5)
          .defaultBranch()
        expect(Object.keys(branches)).toEqual(['size-big', 'size-2', 'size-0'])
        branches['size-big']?.to('big')
        branches['size-2']?.to('mid')
        branches['size-0']?.to('small')
      },
      [
        ['a', 20],
        ['b', 7],
        ['c', 1],
        ['d', 11],
      ],
      ['big', 'mid', 'small'],
    )
    expect(out).toEqual({
      big: [
        ['a', 20],
        ['d', 11],
      ],
      mid: [['b', 7]],
      small: [['c', 1]],
    })
  })

  it('noDefaultBranch drops records no branch takes', () => {
    const out = run(
      (b) => {
        src(b)
          .split()
          .branch((_k, v) => v > 1)
          .noDefaultBranch()
          ['1']?.to('out')
      },
      [
        ['a', 1],
        ['b', 2],
      ],
    )
    expect(out.out).toEqual([['b', 2]])
  })

  it('merge interleaves two streams in processing order', () => {
    const out = run(
      (b) => {
        const s = src(b)
        s.filter((_k, v) => v % 2 === 0)
          .mapValues((v) => v * 100)
          .merge(s.filter((_k, v) => v % 2 === 1))
          .to('out')
      },
      [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ],
    )
    expect(out.out).toEqual([
      ['a', 1],
      ['b', 200],
      ['c', 3],
    ])
  })

  it('pipe runs synchronous RxJS operators over records', () => {
    const out = run(
      (b) =>
        src(b)
          .pipe(
            filter((r: StreamRecord<string, number>) => r.value !== 2),
            map((r) => r.withKey(r.key.toUpperCase()).withValue(r.value + 0.5)),
          )
          .to('out'),
      [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ],
    )
    expect(out.out).toEqual([
      ['A', 1.5],
      ['C', 3.5],
    ])
  })

  it('to() keeps timestamps and headers', () => {
    const b = new StreamsBuilder()
    src(b).to('out', { keySerde: str, valueSerde: num })
    const driver = new TopologyTestDriver(b.build())
    driver.createInputTopic('in', str, num).pipeInput('a', 1, 42, new Map([['h', Buffer.from('x')]]))
    const [record] = driver.createOutputTopic('out', str, num).readRecordsToList()
    expect(record?.timestamp).toBe(42)
    expect(record?.headers.get('h')?.toString()).toBe('x')
  })

  it('process() runs a custom processor with a store, the record context and a punctuator', () => {
    class Dedupe implements Processor<string, number, string, number> {
      #ctx!: ProcessorContext<string, number>
      #seen!: KeyValueStore<string, number>
      init(ctx: ProcessorContext<string, number>) {
        this.#ctx = ctx
        this.#seen = ctx.getStateStore('seen')
        ctx.schedule(10, 'stream-time', (ts) => ctx.forward(new StreamRecord('tick', ts, ts)))
      }
      process(record: StreamRecord<string, number>) {
        if (this.#seen.get(record.key) !== undefined) return
        this.#seen.put(record.key, record.value)
        this.#ctx.forward(record.withValue(this.#ctx.recordContext()?.offset ?? -1))
      }
    }
    const b = new StreamsBuilder()
    b.addStateStore(Stores.keyValueStoreBuilder('seen', str, num))
    src(b)
      .process(() => new Dedupe(), 'seen')
      .to('out', { keySerde: str, valueSerde: num })
    const driver = new TopologyTestDriver(b.build())
    const input = driver.createInputTopic('in', str, num)
    input.pipeInput('a', 1, 5)
    input.pipeInput('a', 2, 6)
    input.pipeInput('b', 3, 16)
    expect(driver.createOutputTopic('out', str, num).readKeyValuesToList()).toEqual([
      ['a', 0],
      ['tick', 5],
      ['b', 2],
      ['tick', 16],
    ])
    expect([...driver.getKeyValueStore<string, number>('seen').all()]).toEqual([
      ['a', 1],
      ['b', 3],
    ])
  })

  it('repartition() sends the stream through <applicationId>-<name>-repartition', () => {
    const b = new StreamsBuilder()
    src(b)
      .selectKey((_k, v) => `k${v}`)
      .repartition({ name: 'by-value', keySerde: str, valueSerde: num })
      .to('out', { keySerde: str, valueSerde: num })
    const driver = new TopologyTestDriver(b.build(), { applicationId: 'app' })
    driver.createInputTopic('in', str, num).pipeInput('a', 1)
    expect(driver.createOutputTopic('app-by-value-repartition', str, num).readKeyValuesToList()).toEqual([
      ['k1', 1],
    ])
    expect(driver.createOutputTopic('out', str, num).readKeyValuesToList()).toEqual([['k1', 1]])
  })
})

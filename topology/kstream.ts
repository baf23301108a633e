// KStream: a record stream in the DSL. Each method adds a processor node to the builder's graph and
// returns a new stream; nothing runs here. A stream remembers its serdes (dropped by operations that
// change the key or value type) and whether its key changed since it was read, which makes a following
// grouping go through a repartition topic.
import type { OperatorFunction } from 'rxjs'
import { BranchedKStream } from './branched-kstream.js'
import { TopologyError } from './errors.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import { AsyncMapValuesProcessor } from './internals/processors/async-map-values-processor.js'
import { CombineProcessor } from './internals/processors/combine-processor.js'
import { FilterProcessor } from './internals/processors/filter-processor.js'
import { FlatMapProcessor, FlatMapValuesProcessor } from './internals/processors/flat-map-processor.js'
import { MapProcessor } from './internals/processors/map-processor.js'
import { MapValuesProcessor } from './internals/processors/map-values-processor.js'
import { PassThroughProcessor } from './internals/processors/pass-through-processor.js'
import { PeekProcessor } from './internals/processors/peek-processor.js'
import { PipeProcessor, type RecordOperator } from './internals/processors/pipe-processor.js'
import { SelectKeyProcessor } from './internals/processors/select-key-processor.js'
import { JoinTimeTrackers } from './internals/processors/stream-join-time-tracker.js'
import { StreamJoinWindowProcessor } from './internals/processors/stream-join-window-processor.js'
import { StreamStreamJoinProcessor } from './internals/processors/stream-stream-join-processor.js'
import { StreamTableJoinProcessor } from './internals/processors/stream-table-join-processor.js'
import { listSerde, unmatchedSerde } from './internals/serde/join-buffer-serde.js'
import { keyIdFunction } from './internals/state/key-id.js'
import { KGroupedStream } from './kgrouped-stream.js'
import { type KTable, materializeTable } from './ktable.js'
import { Materialized } from './materialized.js'
import type { AsyncOptions, Combined, Grouped, Joined, Named, Produced, Repartitioned } from './options.js'
import type { Processor, ProcessorContext, ProcessorSupplier } from './processor.js'
import type { Serde } from './serdes.js'
import type { KeyValue, StreamRecord } from './stream-record.js'
import { JoinWindows } from './windows/join-windows.js'

type R<K, V> = StreamRecord<K, V>

export class KStream<K, V> {
  /** @internal Created by StreamsBuilder and other DSL objects only. */
  constructor(
    protected readonly graph: GraphBuilder,
    /** @internal */ readonly nodeName: string,
    /** @internal */ readonly keySerde: Serde<K> | undefined,
    /** @internal */ readonly valueSerde: Serde<V> | undefined,
    /** @internal */ readonly repartitionRequired: boolean,
  ) {}

  filter(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.#same(this.#add(named, 'KSTREAM-FILTER', () => new FilterProcessor(predicate, false)))
  }

  filterNot(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.#same(this.#add(named, 'KSTREAM-FILTER', () => new FilterProcessor(predicate, true)))
  }

  /** A new key and value: the stream is re-keyed, so a following grouping repartitions. */
  map<K2, V2>(mapper: (key: K, value: V) => KeyValue<K2, V2>, named?: Named): KStream<K2, V2> {
    const node = this.#add(named, 'KSTREAM-MAP', () => new MapProcessor(mapper))
    return new KStream<K2, V2>(this.graph, node, undefined, undefined, true)
  }

  mapValues<V2>(mapper: (value: V, key: K) => V2, named?: Named): KStream<K, V2> {
    const node = this.#add(named, 'KSTREAM-MAPVALUES', () => new MapValuesProcessor(mapper))
    return new KStream<K, V2>(this.graph, node, this.keySerde, undefined, this.repartitionRequired)
  }

  flatMap<K2, V2>(mapper: (key: K, value: V) => Iterable<KeyValue<K2, V2>>, named?: Named): KStream<K2, V2> {
    const node = this.#add(named, 'KSTREAM-FLATMAP', () => new FlatMapProcessor(mapper))
    return new KStream<K2, V2>(this.graph, node, undefined, undefined, true)
  }

  flatMapValues<V2>(mapper: (value: V, key: K) => Iterable<V2>, named?: Named): KStream<K, V2> {
    const node = this.#add(named, 'KSTREAM-FLATMAPVALUES', () => new FlatMapValuesProcessor(mapper))
    return new KStream<K, V2>(this.graph, node, this.keySerde, undefined, this.repartitionRequired)
  }

  peek(action: (key: K, value: V) => void, named?: Named): KStream<K, V> {
    return this.#same(this.#add(named, 'KSTREAM-PEEK', () => new PeekProcessor(action)))
  }

  selectKey<K2>(selector: (key: K, value: V) => K2, named?: Named): KStream<K2, V> {
    const node = this.#add(named, 'KSTREAM-KEY-SELECT', () => new SelectKeyProcessor(selector))
    return new KStream<K2, V>(this.graph, node, undefined, this.valueSerde, true)
  }

  /** Routes each record to the first branch whose predicate holds (see BranchedKStream). */
  split(named?: Named): BranchedKStream<K, V> {
    return new BranchedKStream<K, V>(this.graph, this, named?.name ?? '')
  }

  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    const name = this.graph.name(named?.name, 'KSTREAM-MERGE')
    this.graph.addProcessor(name, () => new PassThroughProcessor<K, V>(), [this.nodeName, other.nodeName])
    return new KStream<K, V>(
      this.graph,
      name,
      this.keySerde === other.keySerde ? this.keySerde : undefined,
      this.valueSerde === other.valueSerde ? this.valueSerde : undefined,
      this.repartitionRequired || other.repartitionRequired,
    )
  }

  /**
   * Record-local work with synchronous RxJS operators over StreamRecords, in a chain built once per task.
   * An operator that emits later (delay, debounce, a Promise) fails the task with PIPE_NOT_SYNCHRONOUS:
   * use mapValuesAsync() for asynchronous work. The operators may change keys, so the stream counts as
   * re-keyed.
   */
  pipe<K2, V2>(op1: OperatorFunction<R<K, V>, R<K2, V2>>): KStream<K2, V2>
  pipe<A, K2, V2>(op1: OperatorFunction<R<K, V>, A>, op2: OperatorFunction<A, R<K2, V2>>): KStream<K2, V2>
  pipe<A, B, K2, V2>(
    op1: OperatorFunction<R<K, V>, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, R<K2, V2>>,
  ): KStream<K2, V2>
  pipe<A, B, C, K2, V2>(
    op1: OperatorFunction<R<K, V>, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, R<K2, V2>>,
  ): KStream<K2, V2>
  pipe<K2, V2>(...operators: OperatorFunction<unknown, unknown>[]): KStream<K2, V2>
  pipe<K2, V2>(...operators: OperatorFunction<never, unknown>[]): KStream<K2, V2> {
    if (operators.length === 0)
      throw new TopologyError('INVALID_ARGUMENT', 'pipe() needs at least one operator')
    const ops = operators as unknown as RecordOperator[]
    const node = this.#add(undefined, 'KSTREAM-PIPE', () => new PipeProcessor(ops))
    return new KStream<K2, V2>(this.graph, node, undefined, undefined, true)
  }

  /**
   * Folds records per key between commits and sends on one record per key (per slice of event time with
   * `sliceMs`) when the task commits: a local pre-aggregation, so that a repartition topic after it
   * carries one record per key and commit interval instead of one per input record. The record sent on
   * has the fold as value, the largest timestamp folded and the last record's headers. Nothing is held
   * across commits, so it needs no store: after a failure the uncommitted records are folded again.
   *
   * The aggregate downstream must merge these folds (a sum of sums, a sketch merged into a sketch) and
   * must not depend on the order of the records within a commit interval: values go on in timestamp
   * order, those of all the tasks of an instance merged into one order. A windowed aggregate downstream judges a fold late (as one late record) only when its
   * stream time had passed the fold's window before the interval began, when each record folded into it
   * would have been late too.
   */
  combine<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    options: Combined = {},
  ): KStream<K, A> {
    const { sliceMs, maxPending = 10_000 } = options
    if (sliceMs !== undefined && !(Number.isSafeInteger(sliceMs) && sliceMs >= 1)) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `combine: sliceMs must be a whole number of milliseconds of at least 1, got ${sliceMs}`,
      )
    }
    if (!(Number.isSafeInteger(maxPending) && maxPending >= 1)) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `combine: maxPending must be a positive integer, got ${maxPending}`,
      )
    }
    const keyId = keyIdFunction(this.keySerde, '')
    const node = this.#add(
      options,
      'KSTREAM-COMBINE',
      () => new CombineProcessor(initializer, aggregator, keyId, sliceMs, maxPending),
    )
    return new KStream<K, A>(this.graph, node, this.keySerde, undefined, this.repartitionRequired)
  }

  /**
   * Asynchronous value mapping (a lookup through a Promise) with at most `concurrency` calls in flight
   * per task, in order per key; the task's commit waits for every record in flight.
   */
  mapValuesAsync<V2>(mapper: (value: V, key: K) => Promise<V2>, options: AsyncOptions): KStream<K, V2> {
    const { concurrency } = options
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `mapValuesAsync: concurrency must be a positive integer, got ${concurrency}`,
      )
    }
    const keyId = keyIdFunction(this.keySerde, '')
    const node = this.#add(
      options,
      'KSTREAM-MAPVALUES-ASYNC',
      () => new AsyncMapValuesProcessor(mapper, concurrency, keyId),
    )
    return new KStream<K, V2>(this.graph, node, this.keySerde, undefined, this.repartitionRequired)
  }

  /**
   * A custom processor, connected to the named stores (added with builder.addStateStore()). Its output
   * may have any key, so the stream counts as re-keyed. A stateful processor on a re-keyed stream needs
   * repartition() first, or records of one key could reach two tasks.
   */
  process<KOut, VOut>(
    supplier: ProcessorSupplier<K, V, KOut, VOut>,
    ...storeNames: string[]
  ): KStream<KOut, VOut> {
    const name = this.graph.name(undefined, 'KSTREAM-PROCESSOR')
    if (storeNames.length > 0 && this.repartitionRequired) {
      this.graph.problem(
        new TopologyError(
          'REPARTITION_REQUIRED',
          `processor ${name} uses stores [${storeNames.join(', ')}] after a key-changing operation: call .repartition({ keySerde, valueSerde }) before .process()`,
          { subject: name },
        ),
      )
    }
    this.graph.addProcessor(name, supplier, [this.nodeName], storeNames)
    return new KStream<KOut, VOut>(this.graph, name, undefined, undefined, true)
  }

  /**
   * A custom processor that keeps each record's key (Kafka Streams' processValues, KIP-820): it may
   * drop records, change values or emit several per input, but the stream stays partitioned as it was,
   * so a stateful operator after it needs no repartition. Forwarding a record with another key fails
   * the record with INVALID_ARGUMENT.
   */
  processValues<VOut>(
    supplier: ProcessorSupplier<K, V, K, VOut>,
    named: Named | undefined,
    ...storeNames: string[]
  ): KStream<K, VOut> {
    const name = this.graph.name(named?.name, 'KSTREAM-PROCESSVALUES')
    if (storeNames.length > 0 && this.repartitionRequired) {
      this.graph.problem(
        new TopologyError(
          'REPARTITION_REQUIRED',
          `processor ${name} uses stores [${storeNames.join(', ')}] after a key-changing operation: call .repartition({ keySerde, valueSerde }) before .processValues()`,
          { subject: name },
        ),
      )
    }
    this.graph.addProcessor(
      name,
      () => new KeyPreservingProcessor(supplier(), name),
      [this.nodeName],
      storeNames,
    )
    return new KStream<K, VOut>(this.graph, name, this.keySerde, undefined, this.repartitionRequired)
  }

  /** Sends the stream through a repartition topic `<applicationId>-<name>-repartition`, partitioned by key. */
  repartition(options: Repartitioned<K, V> = {}): KStream<K, V> {
    const base = this.graph.name(options.name, 'KSTREAM-REPARTITION')
    const keySerde = options.keySerde ?? this.keySerde
    const valueSerde = options.valueSerde ?? this.valueSerde
    const source = this.graph.addRepartition(this.nodeName, base, {
      keySerde: keySerde as Serde<unknown> | undefined,
      valueSerde: valueSerde as Serde<unknown> | undefined,
      hint: `pass them to repartition({ keySerde, valueSerde })`,
    })
    return new KStream<K, V>(this.graph, source, keySerde, valueSerde, false)
  }

  to(topic: string, produced: Produced<K, V> = {}): void {
    const name = this.graph.name(produced.name, 'KSTREAM-SINK')
    this.graph.addSink(name, topic, false, this.nodeName, {
      keySerde: (produced.keySerde ?? this.keySerde) as Serde<unknown> | undefined,
      valueSerde: (produced.valueSerde ?? this.valueSerde) as Serde<unknown> | undefined,
      hint: `pass them to to('${topic}', { keySerde, valueSerde })`,
    })
  }

  /**
   * The stream as a table: the latest value per key, a null value deleting the key. Materialized in a
   * store (`KTABLE-STATE-STORE-...` unless named); after a key change, through a repartition topic.
   * `named` names the processor (`KSTREAM-TOTABLE-...` otherwise) and the repartition topic.
   */
  toTable(named?: Named | Materialized<K, V>, materialized?: Materialized<K, V>): KTable<K, V> {
    const [n, m] = named instanceof Materialized ? [undefined, named] : [named, materialized]
    let parent = this.nodeName
    if (this.repartitionRequired) {
      parent = this.graph.addRepartition(parent, this.graph.name(n?.name, 'KSTREAM-TOTABLE'), {
        keySerde: (m?.keySerde ?? this.keySerde) as Serde<unknown> | undefined,
        valueSerde: (m?.valueSerde ?? this.valueSerde) as Serde<unknown> | undefined,
        hint: 'the key changed before toTable(), so records go through a repartition topic: pass serdes with Materialized.with(keySerde, valueSerde)',
      })
    }
    return materializeTable(
      this.graph,
      parent,
      m ?? Materialized.with<K, V>(),
      this.keySerde,
      this.valueSerde,
      'stream',
      n?.name,
    )
  }

  /**
   * Stream-table inner join: each record is joined with the table's current value for its key; a record
   * without one (or with a null key or value) gives nothing, and table updates give nothing. After a key
   * change the stream goes through a repartition topic first; its source topics and the table's must be
   * co-partitioned (Topology.copartitionGroups()).
   *
   * Stream-stream inner join (with JoinWindows): each record is joined with every record of the other
   * stream with the same key whose timestamp is within the window, whichever arrives second emitting.
   */
  join<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT, key: K) => VR,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    windows: JoinWindows,
    joined?: Joined<K, V, VO>,
  ): KStream<K, VR>
  join<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    third?: JoinWindows | Joined<K, V, VO>,
    fourth?: Joined<K, V, VO>,
  ): KStream<K, VR> {
    const j = joiner as (value: V | null, otherValue: VO | null, key: K) => VR
    if (third instanceof JoinWindows)
      return this.#joinStream(other as KStream<K, VO>, j, 'inner', third, fourth ?? {})
    return this.#joinTable(other as KTable<K, VO>, j, false, third ?? {})
  }

  /**
   * Stream-table left join: as join(), but a record without a table value is joined with null.
   *
   * Stream-stream left join (with JoinWindows): as join(), and a record of this stream that no record of
   * the other matched is joined with null once its window has closed (after + grace past it, by stream
   * time), never before: no spurious (value, null) result precedes a match.
   */
  leftJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT | null, key: K) => VR,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    joined?: Joined<K, V, VO>,
  ): KStream<K, VR>
  leftJoin<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    third?: JoinWindows | Joined<K, V, VO>,
    fourth?: Joined<K, V, VO>,
  ): KStream<K, VR> {
    const j = joiner as (value: V | null, otherValue: VO | null, key: K) => VR
    if (third instanceof JoinWindows)
      return this.#joinStream(other as KStream<K, VO>, j, 'left', third, fourth ?? {})
    return this.#joinTable(other as KTable<K, VO>, j, true, third ?? {})
  }

  /** Stream-stream outer join: as leftJoin(), for unmatched records of either stream. */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    joined: Joined<K, V, VO> = {},
  ): KStream<K, VR> {
    return this.#joinStream(other, joiner, 'outer', windows, joined)
  }

  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(
      this.graph,
      this.nodeName,
      grouped.keySerde ?? this.keySerde,
      grouped.valueSerde ?? this.valueSerde,
      this.repartitionRequired,
      grouped.name,
    )
  }

  /** selectKey(selector) then groupByKey(): always through a repartition topic. */
  groupBy<K2>(selector: (key: K, value: V) => K2, grouped: Grouped<K2, V> = {}): KGroupedStream<K2, V> {
    return this.selectKey(selector).groupByKey(grouped)
  }

  // Kafka Streams' layout: per side a KSTREAM-WINDOWED node keeping the side's records in its window
  // store, then the side's join node reading the other side's store; a KSTREAM-MERGE of both. Left and
  // outer joins share an outer store where unmatched records wait for their window to close.
  #joinStream<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    kind: 'inner' | 'left' | 'outer',
    windows: JoinWindows,
    joined: Joined<K, V, VO>,
  ): KStream<K, VR> {
    const graph = this.graph
    const base = joined.name
    const named = (suffix: string): string | undefined =>
      base === undefined ? undefined : `${base}-${suffix}`
    const keySerde = joined.keySerde ?? this.keySerde ?? other.keySerde
    const thisValueSerde = joined.valueSerde ?? this.valueSerde
    const otherValueSerde = joined.otherValueSerde ?? other.valueSerde
    const hint = 'pass the serdes as join(other, joiner, windows, { keySerde, valueSerde, otherValueSerde })'
    const side = (
      stream: KStream<K, unknown>,
      suffix: string,
      valueSerde: Serde<unknown> | undefined,
    ): string =>
      stream.repartitionRequired
        ? graph.addRepartition(stream.nodeName, named(suffix) ?? graph.name(undefined, 'KSTREAM-JOIN'), {
            keySerde: keySerde as Serde<unknown> | undefined,
            valueSerde,
            hint: `the key changed before the join, so records go through a repartition topic: ${hint}`,
          })
        : stream.nodeName
    const thisParent = side(this as KStream<K, unknown>, 'left', thisValueSerde as Serde<unknown> | undefined)
    const otherParent = side(
      other as KStream<K, unknown>,
      'right',
      otherValueSerde as Serde<unknown> | undefined,
    )

    const thisWindowed = graph.name(named('this-windowed'), 'KSTREAM-WINDOWED')
    const otherWindowed = graph.name(named('other-windowed'), 'KSTREAM-WINDOWED')
    const thisJoin = graph.name(
      named('this-join'),
      kind === 'outer' ? 'KSTREAM-OUTERTHIS' : 'KSTREAM-JOINTHIS',
    )
    const otherJoin = graph.name(
      named('other-join'),
      kind === 'inner' ? 'KSTREAM-JOINOTHER' : 'KSTREAM-OUTEROTHER',
    )
    const thisStore = `${thisJoin}-store`
    const otherStore = `${otherJoin}-store`
    const outerStore =
      kind === 'inner'
        ? undefined
        : `${named('outer-shared-join') ?? graph.name(undefined, 'KSTREAM-OUTERSHARED')}-store`
    const sideStore = (name: string, valueSerde: Serde<unknown> | undefined): void =>
      graph.addStore({
        kind: 'window',
        name,
        keySerde: keySerde as Serde<unknown> | undefined,
        valueSerde: valueSerde && (listSerde(valueSerde) as Serde<unknown>),
        wrapValueSerde: (serde) => listSerde(serde) as Serde<unknown>,
        cachingEnabled: false,
        loggingEnabled: true,
        windowSizeMs: windows.sizeMs,
        retentionMs: windows.retentionMs,
        hint,
      })
    sideStore(thisStore, thisValueSerde as Serde<unknown> | undefined)
    sideStore(otherStore, otherValueSerde as Serde<unknown> | undefined)
    if (outerStore !== undefined) {
      graph.addStore({
        kind: 'window',
        name: outerStore,
        keySerde: keySerde as Serde<unknown> | undefined,
        valueSerde:
          thisValueSerde &&
          otherValueSerde &&
          (unmatchedSerde(thisValueSerde, otherValueSerde) as Serde<unknown>),
        wrapValueSerde: (serde) =>
          unmatchedSerde(thisValueSerde ?? serde, otherValueSerde ?? serde) as Serde<unknown>,
        cachingEnabled: false,
        loggingEnabled: true,
        // Records leave it when emitted or matched, never by retention.
        windowSizeMs: 0,
        retentionMs: Number.MAX_SAFE_INTEGER,
        hint,
      })
    }
    graph.addProcessor(
      thisWindowed,
      () => new StreamJoinWindowProcessor<K, V>(thisStore),
      [thisParent],
      [thisStore],
    )
    graph.addProcessor(
      otherWindowed,
      () => new StreamJoinWindowProcessor<K, VO>(otherStore),
      [otherParent],
      [otherStore],
    )
    const timeTrackers = new JoinTimeTrackers()
    const shared = outerStore === undefined ? [] : [outerStore]
    const processor = (isLeftSide: boolean, outer: boolean, otherStoreName: string) => () =>
      new StreamStreamJoinProcessor<K, V, VO, VR>({
        isLeftSide,
        windows,
        otherStoreName,
        outerStoreName: outerStore,
        outer,
        joiner,
        timeTrackers,
      })
    graph.addProcessor(
      thisJoin,
      processor(true, kind !== 'inner', otherStore),
      [thisWindowed],
      [otherStore, ...shared],
    )
    graph.addProcessor(
      otherJoin,
      processor(false, kind === 'outer', thisStore),
      [otherWindowed],
      [thisStore, ...shared],
    )
    const merge = graph.name(named('merge'), 'KSTREAM-MERGE')
    graph.addProcessor(merge, () => new PassThroughProcessor<K, VR>(), [thisJoin, otherJoin])
    graph.copartition([thisParent, otherParent])
    return new KStream<K, VR>(graph, merge, keySerde, undefined, false)
  }

  #joinTable<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT | null, key: K) => VR,
    leftJoin: boolean,
    joined: Joined<K, V, VT>,
  ): KStream<K, VR> {
    const graph = this.graph
    const keySerde = joined.keySerde ?? this.keySerde ?? table.keySerde
    let parent = this.nodeName
    if (this.repartitionRequired) {
      const base = joined.name === undefined ? graph.name(undefined, 'KSTREAM-JOIN') : `${joined.name}-left`
      parent = graph.addRepartition(parent, base, {
        keySerde: keySerde as Serde<unknown> | undefined,
        valueSerde: (joined.valueSerde ?? this.valueSerde) as Serde<unknown> | undefined,
        hint: 'the key changed before the join, so records go through a repartition topic: pass the serdes as join(table, joiner, { keySerde, valueSerde })',
      })
    }
    const getter = table.valueGetterSupplier
    const name = graph.name(joined.name, leftJoin ? 'KSTREAM-LEFTJOIN' : 'KSTREAM-JOIN')
    graph.addProcessor(
      name,
      () => new StreamTableJoinProcessor<K, V, VT, VR>(getter, joiner, leftJoin),
      [parent],
      getter.storeNames,
    )
    graph.copartition([parent, table.nodeName])
    return new KStream<K, VR>(graph, name, keySerde, undefined, false)
  }

  #add<KO, VO>(named: Named | undefined, prefix: string, supplier: ProcessorSupplier<K, V, KO, VO>): string {
    const name = this.graph.name(named?.name, prefix)
    return this.graph.addProcessor(name, supplier, [this.nodeName])
  }

  #same(node: string): KStream<K, V> {
    return new KStream<K, V>(this.graph, node, this.keySerde, this.valueSerde, this.repartitionRequired)
  }
}

// Runs a user processor and refuses a forwarded record whose key is not the input record's.
class KeyPreservingProcessor<K, V, VOut> implements Processor<K, V, K, VOut> {
  #key: K | undefined

  constructor(
    private readonly inner: Processor<K, V, K, VOut>,
    private readonly name: string,
  ) {}

  init(context: ProcessorContext<K, VOut>): void {
    const guarded: ProcessorContext<K, VOut> = {
      applicationId: context.applicationId,
      taskId: context.taskId,
      partition: context.partition,
      forward: (record, childName) => {
        if (this.#key !== undefined && record.key !== this.#key) {
          throw new TopologyError(
            'INVALID_ARGUMENT',
            `processValues processor ${this.name} forwarded key ${String(record.key)} for input key ${String(this.#key)}: use process() to change keys`,
            { subject: this.name },
          )
        }
        context.forward(record, childName)
      },
      getStateStore: (name) => context.getStateStore(name),
      schedule: (interval, type, punctuator) => context.schedule(interval, type, punctuator),
      recordContext: () => context.recordContext(),
      currentStreamTimeMs: () => context.currentStreamTimeMs(),
      currentSystemTimeMs: () => context.currentSystemTimeMs(),
    }
    this.inner.init?.(guarded)
  }

  process(record: StreamRecord<K, V>): void {
    this.#key = record.key
    try {
      this.inner.process(record)
    } finally {
      this.#key = undefined
    }
  }

  close(): void {
    this.inner.close?.()
  }
}

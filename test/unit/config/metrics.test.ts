import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createMetrics, METRIC_PREFIX, Registry } from '../../../config/metrics.js'

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) throw new Error(`no metric ${name}`)
  const data = await metric.get()
  const found = data.values.find(
    (v) =>
      Object.entries(labels).every(([k, l]) => v.labels[k] === l) &&
      Object.keys(v.labels).filter((k) => k !== 'le').length === Object.keys(labels).length &&
      (v as { metricName?: string }).metricName !== `${name}_bucket`,
  )
  return found?.value ?? Number.NaN
}

async function histogram(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const data = await registry.getSingleMetric(name)?.get()
  const pick = (suffix: string) =>
    data?.values.find(
      (v) =>
        (v as { metricName?: string }).metricName === `${name}_${suffix}` &&
        Object.entries(labels).every(([k, l]) => v.labels[k] === l),
    )?.value
  return { count: pick('count'), sum: pick('sum') }
}

const p = (n: string) => `${METRIC_PREFIX}${n}`

describe('metrics', () => {
  it('runtime hooks update their series', async () => {
    const { registry, streams } = createMetrics()
    streams.recordsConsumed('in', 5)
    streams.recordsConsumed('in', 2)
    streams.recordsConsumed('other', 1)
    expect(await value(registry, p('records_consumed_total'), { topic: 'in' })).toBe(7)
    expect(await value(registry, p('records_consumed_total'), { topic: 'other' })).toBe(1)

    streams.commit(250, 10)
    streams.commit(50, 0)
    expect(await value(registry, p('commits_total'))).toBe(2)
    expect(await value(registry, p('committed_records_total'))).toBe(10)
    expect(await histogram(registry, p('commit_duration_seconds'))).toEqual({ count: 2, sum: 0.3 })

    streams.transactionAborted('TASK_MIGRATED')
    streams.transactionAborted('TASK_MIGRATED')
    streams.transactionAborted('PRODUCER_FENCED')
    expect(await value(registry, p('transactions_aborted_total'), { reason: 'TASK_MIGRATED' })).toBe(2)
    expect(await value(registry, p('transactions_aborted_total'), { reason: 'PRODUCER_FENCED' })).toBe(1)

    streams.restored('counts', 1000, 1500)
    expect(await value(registry, p('restored_records_total'), { store: 'counts' })).toBe(1000)
    expect(await histogram(registry, p('restore_duration_seconds'), { store: 'counts' })).toEqual({
      count: 1,
      sum: 1.5,
    })

    streams.deadLetter('DESERIALIZATION_FAILED')
    expect(await value(registry, p('dead_letters_total'), { code: 'DESERIALIZATION_FAILED' })).toBe(1)

    streams.tasks(4)
    streams.tasks(3)
    expect(await value(registry, p('tasks'))).toBe(3)

    streams.producerThreadHeap?.(30e6, 64e6)
    streams.producerThreadHeap?.(20e6, 64e6)
    expect(await value(registry, p('producer_thread_heap_bytes'), { kind: 'used' })).toBe(20e6)
    expect(await value(registry, p('producer_thread_heap_bytes'), { kind: 'total' })).toBe(64e6)

    streams.stores?.([
      { store: 'counts', entries: 10, bytes: 4000 },
      { store: 'agents', entries: 3, bytes: 900 },
    ])
    streams.stores?.([{ store: 'counts', entries: 12, bytes: 4800 }])
    expect(await value(registry, p('state_store_entries'), { store: 'counts' })).toBe(12)
    expect(await value(registry, p('state_store_bytes'), { store: 'counts' })).toBe(4800)
    // A store no task of this instance holds any more has no series left.
    expect(
      (await registry.getSingleMetric(p('state_store_bytes'))?.get())?.values.map((v) => v.labels.store),
    ).toEqual(['counts'])

    streams.partitionLag('in', 0, 42)
    streams.partitionLag('in', 1, 7)
    streams.partitionLag('in', 0, 40)
    expect(await value(registry, p('partition_lag'), { topic: 'in', partition: '0' })).toBe(40)
    expect(await value(registry, p('partition_lag'), { topic: 'in', partition: '1' })).toBe(7)

    streams.rebalance(2000)
    expect(await histogram(registry, p('rebalance_pause_seconds'))).toEqual({ count: 1, sum: 2 })
    // A rebalance clears the lag of partitions that may have moved away.
    expect((await registry.getSingleMetric(p('partition_lag'))?.get())?.values).toEqual([])
  })

  it('engine hooks update their series, store timing only when enabled', async () => {
    const off = createMetrics()
    expect(off.engine.enabled).toBe(false)
    off.engine.storeOperation('s', 'get', 1)
    expect(
      (await off.registry.getSingleMetric(p('store_operation_duration_seconds'))?.get())?.values,
    ).toEqual([])

    const { registry, engine } = createMetrics(new Registry(), { storeOperations: true })
    expect(engine.enabled).toBe(true)
    engine.storeOperation('counts', 'put', 2)
    engine.storeOperation('counts', 'put', 4)
    expect(
      await histogram(registry, p('store_operation_duration_seconds'), { store: 'counts', operation: 'put' }),
    ).toEqual({ count: 2, sum: 0.006 })

    engine.recordsProcessed('0_1', 3)
    engine.recordsProcessed('1_0', 2)
    expect(await value(registry, p('records_processed_total'))).toBe(5)

    engine.badRecord?.('0_0', 'PROCESSING_FAILED', 'dead-letter')
    engine.badRecord?.('0_1', 'PROCESSING_FAILED', 'continue')
    engine.badRecord?.('0_2', 'PROCESSING_FAILED', 'continue')
    expect(
      await value(registry, p('bad_records_total'), { code: 'PROCESSING_FAILED', response: 'continue' }),
    ).toBe(2)
    expect(
      await value(registry, p('bad_records_total'), { code: 'PROCESSING_FAILED', response: 'dead-letter' }),
    ).toBe(1)

    engine.lateRecord?.('0_0', 'KSTREAM-AGGREGATE-0000000002', 'counts')
    expect(
      await value(registry, p('late_records_total'), {
        processor: 'KSTREAM-AGGREGATE-0000000002',
        store: 'counts',
      }),
    ).toBe(1)

    engine.droppedRecord?.('0_0', 'join', 'null-key')
    expect(await value(registry, p('dropped_records_total'), { processor: 'join', reason: 'null-key' })).toBe(
      1,
    )
  })

  it('no label is a task id', async () => {
    const { registry, engine } = createMetrics()
    engine.badRecord?.('7_3', 'X', 'continue')
    engine.lateRecord?.('7_3', 'proc', 'store')
    const text = await registry.metrics()
    expect(text).not.toMatch(/7_3/)
  })

  it('two metric sets on two registries do not conflict; one registry reuses its set', async () => {
    const a = createMetrics()
    const b = createMetrics()
    a.streams.deadLetter('X')
    expect(await value(a.registry, p('dead_letters_total'), { code: 'X' })).toBe(1)
    expect(await value(b.registry, p('dead_letters_total'), { code: 'X' })).toBeNaN()
    // Two roles in one process share a registry: the second call must not redefine the metrics.
    const again = createMetrics(a.registry)
    again.streams.deadLetter('X')
    expect(await value(a.registry, p('dead_letters_total'), { code: 'X' })).toBe(2)
  })

  it("defines no kafka_consumergroup_lag metric and every name has the project prefix, but the operations guide's", async () => {
    const registry = new Registry()
    createMetrics(registry)
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name)
    expect(names.length).toBeGreaterThan(10)
    const guide = ['neo4j_connection_failures_total', 'neo4j_query_duration_seconds']
    expect(names).toEqual(expect.arrayContaining(guide))
    for (const name of names.filter((n) => !guide.includes(n))) {
      expect(name.startsWith(METRIC_PREFIX)).toBe(true)
      expect(name).not.toMatch(/^kafka_consumergroup_lag/)
    }
  })

  it('adds Node process metrics only when asked, once per registry', async () => {
    const plain = createMetrics()
    expect(await plain.registry.metrics()).not.toMatch(/process_cpu_seconds_total/)
    const registry = new Registry()
    createMetrics(registry, { defaultMetrics: true })
    expect(() => createMetrics(registry, { defaultMetrics: true })).not.toThrow()
    expect(await registry.metrics()).toMatch(/process_cpu_seconds_total/)
  })

  it('the README Metrics table documents exactly the metrics defined here', async () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('\n## Metrics\n'))
    const documented = [...section.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1])
    const { registry } = createMetrics()
    const defined = (await registry.getMetricsAsJSON()).map((m) => m.name)
    expect([...documented].sort()).toEqual([...defined].sort())
  })
})

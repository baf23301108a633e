import { Registry } from 'prom-client'
import { describe, expect, it, vi } from 'vitest'
import { LagExporter, type LagSource } from '../../../api/lag/lag-exporter.js'
import { loadConfig } from '../../../config/config.js'
import type { GroupLagReadout, PartitionLag } from '../../../kafka/group-lag.js'
import { partitionKey } from '../../../kafka/partition-fetcher.js'
import { lagSeries } from '../../support/api-fixtures.js'

const kafka = loadConfig({}).kafka

/** A source that answers each read with the next scripted readout (or throws the scripted error). */
class ScriptedSource implements LagSource {
  readonly reads: string[][] = []
  readonly prefixes: string[][] = []
  closed = false
  constructor(
    private readonly script: (GroupLagReadout | Error)[],
    private readonly byPrefix: string[] = [],
  ) {}
  async groupsWithPrefix(prefixes: readonly string[]): Promise<string[]> {
    this.prefixes.push([...prefixes])
    return this.byPrefix
  }
  async read(groups: readonly string[]): Promise<GroupLagReadout> {
    this.reads.push([...groups])
    const next = this.script.length > 1 ? this.script.shift() : this.script[0]
    if (next === undefined) throw new Error('script is empty')
    if (next instanceof Error) throw next
    return next
  }
  async close(): Promise<void> {
    this.closed = true
  }
}

function readout(lags: Omit<PartitionLag, 'lag'>[], failed: [string, unknown][] = []): GroupLagReadout {
  return {
    lags: lags.map((l) => ({ ...l, lag: Math.max(0, l.end - l.committed) })),
    failed: new Map(failed),
    ends: new Map(lags.map((l) => [partitionKey(l.topic, l.partition), l.end])),
  }
}

describe('LagExporter', () => {
  it('publishes lag in messages and the time lag interpolated on the end offsets it sampled', async () => {
    const registry = new Registry()
    let now = 100_000
    const source = new ScriptedSource([
      readout([{ group: 'g', topic: 't', partition: 0, committed: 10, end: 10 }]),
      readout([{ group: 'g', topic: 't', partition: 0, committed: 10, end: 30 }]),
      readout([{ group: 'g', topic: 't', partition: 0, committed: 20, end: 30 }]),
    ])
    const exporter = new LagExporter({ kafka, registry, groups: ['g'], now: () => now, source })
    await exporter.poll()
    now = 110_000
    await exporter.poll()
    // End 10 at 100 s, 30 at 110 s: committed 10 has waited since 100 s.
    expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({ 'g/t/0': 20 })
    expect(await lagSeries(registry, 'kafka_consumergroup_lag_seconds')).toEqual({ 'g/t/0': 10 })
    now = 112_000
    await exporter.poll()
    // Committed 20 is halfway between (10, 100 s) and (30, 110 s): 105 s, 7 s before 112 s.
    expect(exporter.snapshot()).toEqual([
      { group: 'g', topic: 't', partition: 0, committed: 20, end: 30, lag: 10, lagSeconds: 7 },
    ])
    expect(await lagSeries(registry, 'kafka_consumergroup_lag_seconds')).toEqual({ 'g/t/0': 7 })
    await exporter.close()
    expect(source.closed).toBe(true)
  })

  it('exports the prefix-matched groups with the configured ones, each once', async () => {
    const source = new ScriptedSource([readout([])], ['app-a', 'g'])
    const exporter = new LagExporter({
      kafka,
      registry: new Registry(),
      groups: ['g', 'h'],
      groupPrefixes: ['app-'],
      source,
    })
    await exporter.poll()
    expect(source.prefixes).toEqual([['app-']])
    expect(source.reads).toEqual([['g', 'h', 'app-a']])
    await exporter.close()
  })

  it('removes the series of a partition or group that is no longer read', async () => {
    const registry = new Registry()
    const source = new ScriptedSource([
      readout([
        { group: 'g', topic: 't', partition: 0, committed: 1, end: 5 },
        { group: 'g', topic: 't', partition: 1, committed: 2, end: 5 },
        { group: 'h', topic: 't', partition: 0, committed: 3, end: 5 },
      ]),
      readout([{ group: 'g', topic: 't', partition: 1, committed: 4, end: 5 }]),
    ])
    const exporter = new LagExporter({ kafka, registry, groups: ['g', 'h'], source })
    await exporter.poll()
    expect(Object.keys(await lagSeries(registry, 'kafka_consumergroup_lag')).sort()).toEqual([
      'g/t/0',
      'g/t/1',
      'h/t/0',
    ])
    await exporter.poll()
    expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({ 'g/t/1': 1 })
    expect(Object.keys(await lagSeries(registry, 'kafka_consumergroup_lag_seconds'))).toEqual(['g/t/1'])
    await exporter.close()
  })

  it('on a failed poll keeps the last values, counts the failure and logs it', async () => {
    const registry = new Registry()
    const warn = vi.fn()
    const source = new ScriptedSource([
      readout([{ group: 'g', topic: 't', partition: 0, committed: 1, end: 5 }]),
      new Error('broker down'),
    ])
    const exporter = new LagExporter({
      kafka,
      registry,
      groups: ['g'],
      source,
      logger: { warn } as never,
    })
    await exporter.poll()
    await expect(exporter.poll()).resolves.toBeUndefined()
    expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({ 'g/t/0': 4 })
    expect(await lagSeries(registry, 'kafka_lag_exporter_poll_failures_total')).toEqual({ '': 1 })
    expect(warn).toHaveBeenCalledWith(
      { err: expect.objectContaining({ message: 'broker down' }) },
      expect.stringContaining('poll failed'),
    )
    await exporter.close()
  })

  it('keeps the series of a group whose offsets could not be read and updates the others', async () => {
    const registry = new Registry()
    const source = new ScriptedSource([
      readout([
        { group: 'g', topic: 't', partition: 0, committed: 1, end: 5 },
        { group: 'h', topic: 't', partition: 0, committed: 2, end: 5 },
      ]),
      readout(
        [{ group: 'h', topic: 't', partition: 0, committed: 5, end: 5 }],
        [['g', new Error('coordinator')]],
      ),
    ])
    const exporter = new LagExporter({ kafka, registry, groups: ['g', 'h'], source })
    await exporter.poll()
    await exporter.poll()
    expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({ 'g/t/0': 4, 'h/t/0': 0 })
    expect(await lagSeries(registry, 'kafka_lag_exporter_poll_failures_total')).toEqual({ '': 1 })
    await exporter.close()
  })

  it('keeps polling on its timer after failures, and stops when closed', async () => {
    const source = new ScriptedSource([
      new Error('down'),
      new Error('still down'),
      readout([{ group: 'g', topic: 't', partition: 0, committed: 0, end: 2 }]),
    ])
    const exporter = new LagExporter({
      kafka,
      registry: new Registry(),
      groups: ['g'],
      pollIntervalMs: 5,
      source,
    })
    exporter.start()
    await vi.waitFor(() => expect(exporter.snapshot()).toHaveLength(1), { timeout: 2000 })
    await exporter.close()
    const reads = source.reads.length
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(source.reads.length).toBe(reads)
  })

  it('refuses bad options and a second exporter on the same registry', () => {
    const registry = new Registry()
    const source = new ScriptedSource([readout([])])
    expect(() => new LagExporter({ kafka, registry, groups: [], pollIntervalMs: 0, source })).toThrow(
      /pollIntervalMs must be a positive integer/,
    )
    expect(() => new LagExporter({ kafka, registry, groups: [''], source })).toThrow(/groups must hold/)
    expect(() => new LagExporter({ kafka, registry, groups: [], maxSamples: 1, source })).toThrow(
      /maxSamples/,
    )
    new LagExporter({ kafka, registry, groups: [], source })
    expect(() => new LagExporter({ kafka, registry, groups: [], source })).toThrow(
      /kafka_consumergroup_lag is already registered on this registry/,
    )
  })
})

// resolveStreamsConfig: Kafka Streams' defaults where they apply, and INVALID_CONFIG naming the setting
// for each bad value.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { TopologyError } from '../../../topology/errors.js'
import { resolveStreamsConfig, type StreamsConfig } from '../../../topology/runtime/streams-config.js'

const base: StreamsConfig = { applicationId: 'agent-party', bootstrapServers: ['localhost:9092'] }

function rejection(config: Partial<StreamsConfig> | Record<string, unknown>): TopologyError {
  try {
    resolveStreamsConfig({ ...base, ...config } as StreamsConfig)
  } catch (error) {
    return error as TopologyError
  }
  throw new Error(`accepted ${JSON.stringify(config)}`)
}

describe('resolveStreamsConfig', () => {
  it('applies the documented defaults', () => {
    expect(resolveStreamsConfig(base)).toMatchObject({
      applicationId: 'agent-party',
      bootstrapServers: ['localhost:9092'],
      processingGuarantee: 'exactly_once',
      commitIntervalMs: 100,
      stateDir: join(tmpdir(), 'agent-party-streams'),
      stateStore: 'memory',
      windowStateStore: 'memory',
      instanceId: undefined,
      replicationFactor: 1,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      rebalanceTimeoutMs: 30_000,
      transactionTimeoutMs: 10_000,
      maxTransactionRecords: 100_000,
      producerThread: true,
      maxBufferedRecordsPerPartition: 1000,
      cacheMaxBytes: 10 * 1024 * 1024,
      maxTaskIdleMs: 0,
      deadLetterTopic: 'agent-party-dlq',
      lateRecordTopic: 'agent-party-late',
      groupProtocol: 'classic',
      repartitionPurgeIntervalMs: 30_000,
      autoOffsetReset: 'earliest',
      clientId: 'agent-party',
      logger: undefined,
      metrics: undefined,
      engineMetrics: undefined,
      deserializationExceptionHandler: undefined,
      processingExceptionHandler: 'dead-letter',
    })
  })

  it('keeps given values and copies the server list', () => {
    const servers = ['a:1', 'b.example.com:9093']
    const resolved = resolveStreamsConfig({
      ...base,
      bootstrapServers: servers,
      processingGuarantee: 'at_least_once',
      commitIntervalMs: 30_000,
      stateDir: '/var/lib/streams',
      stateStore: 'lmdb',
      instanceId: 'pod-0',
      replicationFactor: 3,
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 3000,
      rebalanceTimeoutMs: 60_000,
      transactionTimeoutMs: 60_000,
      maxTransactionRecords: 20_000,
      maxBufferedRecordsPerPartition: 5,
      cacheMaxBytes: 0,
      maxTaskIdleMs: 10,
      deadLetterTopic: 'dead',
      repartitionPurgeIntervalMs: 1,
      autoOffsetReset: 'latest',
      clientId: 'me',
    })
    expect(resolved).toMatchObject({
      processingGuarantee: 'at_least_once',
      commitIntervalMs: 30_000,
      stateDir: '/var/lib/streams',
      stateStore: 'lmdb',
      instanceId: 'pod-0',
      replicationFactor: 3,
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 3000,
      rebalanceTimeoutMs: 60_000,
      transactionTimeoutMs: 60_000,
      maxTransactionRecords: 20_000,
      maxBufferedRecordsPerPartition: 5,
      cacheMaxBytes: 0,
      maxTaskIdleMs: 10,
      deadLetterTopic: 'dead',
      repartitionPurgeIntervalMs: 1,
      autoOffsetReset: 'latest',
      clientId: 'me',
    })
    expect(resolved.bootstrapServers).toEqual(servers)
    expect(resolved.bootstrapServers).not.toBe(servers)
  })

  const bad: [string, Record<string, unknown>][] = [
    ['maxTransactionRecords', { maxTransactionRecords: 0 }],
    ['applicationId', { applicationId: '' }],
    ['applicationId', { applicationId: 'has space' }],
    ['applicationId', { applicationId: 'a/b' }],
    ['applicationId', { applicationId: 'x'.repeat(201) }],
    ['applicationId', { applicationId: 42 }],
    ['applicationId', { applicationId: undefined }],
    ['bootstrapServers', { bootstrapServers: [] }],
    ['bootstrapServers', { bootstrapServers: 'localhost:9092' }],
    ['bootstrapServers', { bootstrapServers: ['localhost'] }],
    ['bootstrapServers', { bootstrapServers: ['localhost:port'] }],
    ['bootstrapServers', { bootstrapServers: ['localhost:9092', 'host:123456'] }],
    ['processingGuarantee', { processingGuarantee: 'exactly_once_v2' }],
    ['instanceId', { instanceId: '' }],
    ['instanceId', { instanceId: 'pod 0' }],
    ['commitIntervalMs', { commitIntervalMs: 0 }],
    ['commitIntervalMs', { commitIntervalMs: 1.5 }],
    ['commitIntervalMs', { commitIntervalMs: Number.NaN }],
    ['commitIntervalMs', { commitIntervalMs: '100' }],
    // Each transaction stays open about one commit interval: the coordinator would abort it.
    ['commitIntervalMs', { commitIntervalMs: 10_000 }],
    ['commitIntervalMs', { commitIntervalMs: 5000, transactionTimeoutMs: 5000 }],
    ['stateStore', { stateStore: 'rocksdb' }],
    ['stateStore', { stateStore: 'LMDB' }],
    ['windowStateStore', { stateStore: 'lmdb', windowStateStore: 'disk' }],
    // Windows in LMDB only beside the tables.
    ['windowStateStore', { windowStateStore: 'lmdb' }],
    ['replicationFactor', { replicationFactor: 0 }],
    ['sessionTimeoutMs', { sessionTimeoutMs: 999 }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: 0 }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: 10_000 }],
    ['heartbeatIntervalMs', { sessionTimeoutMs: 5000, heartbeatIntervalMs: 6000 }],
    ['rebalanceTimeoutMs', { rebalanceTimeoutMs: 9999 }],
    ['rebalanceTimeoutMs', { sessionTimeoutMs: 60_000 }],
    ['transactionTimeoutMs', { transactionTimeoutMs: 999 }],
    ['maxBufferedRecordsPerPartition', { maxBufferedRecordsPerPartition: 0 }],
    ['producerThread', { producerThread: 'false' }],
    ['cacheMaxBytes', { cacheMaxBytes: -1 }],
    ['maxTaskIdleMs', { maxTaskIdleMs: -1 }],
    ['repartitionPurgeIntervalMs', { repartitionPurgeIntervalMs: 0 }],
    ['autoOffsetReset', { autoOffsetReset: 'none' }],
    ['groupProtocol', { groupProtocol: 'cooperative' }],
    // The client commits transactional offsets with the classic generation under KIP-848.
    ['groupProtocol', { groupProtocol: 'consumer' }],
    ['groupProtocol', { groupProtocol: 'consumer', processingGuarantee: 'exactly_once' }],
    ['eventTimeAlignment', { eventTimeAlignment: 5000 }],
    ['eventTimeAlignment.maxDriftMs', { eventTimeAlignment: {} }],
    ['eventTimeAlignment.maxDriftMs', { eventTimeAlignment: { maxDriftMs: -1 } }],
    ['eventTimeAlignment.intervalMs', { eventTimeAlignment: { maxDriftMs: 0, intervalMs: 5 } }],
    // Reports count per generation of the classic protocol.
    [
      'eventTimeAlignment',
      {
        eventTimeAlignment: { maxDriftMs: 1000 },
        groupProtocol: 'consumer',
        processingGuarantee: 'at_least_once',
      },
    ],
  ]

  it('lets at_least_once commit less often than the transaction timeout (it opens no transaction)', () => {
    const resolved = resolveStreamsConfig({
      ...base,
      processingGuarantee: 'at_least_once',
      commitIntervalMs: 30_000,
    })
    expect(resolved.commitIntervalMs).toBe(30_000)
    expect(rejection({ commitIntervalMs: 30_000 }).message).toBe(
      'INVALID_CONFIG: commitIntervalMs: got 30000, expected less than transactionTimeoutMs (10000) with exactly_once',
    )
  })

  it('leaves event-time alignment off unless asked, and fills its interval', () => {
    expect(resolveStreamsConfig(base).eventTimeAlignment).toBeUndefined()
    expect(
      resolveStreamsConfig({ ...base, eventTimeAlignment: { maxDriftMs: 0 } }).eventTimeAlignment,
    ).toEqual({
      maxDriftMs: 0,
      intervalMs: 50,
    })
  })

  it.each(bad)('INVALID_CONFIG naming %s for %j', (setting, config) => {
    const error = rejection(config)
    expect(error.name).toBe('TopologyError')
    expect(error.code).toBe('INVALID_CONFIG')
    expect(error.subject).toBe(setting)
    expect(error.message).toMatch(new RegExp(`^INVALID_CONFIG: ${setting}: got .*, expected `))
    expect(error.retryable).toBe(false)
  })

  it('takes the consumer protocol with at-least-once', () => {
    expect(
      resolveStreamsConfig({ ...base, groupProtocol: 'consumer', processingGuarantee: 'at_least_once' }),
    ).toMatchObject({ groupProtocol: 'consumer', processingGuarantee: 'at_least_once' })
  })

  it('accepts the limits', () => {
    expect(() =>
      resolveStreamsConfig({
        ...base,
        applicationId: 'a'.repeat(200),
        sessionTimeoutMs: 1000,
        heartbeatIntervalMs: 999,
        rebalanceTimeoutMs: 1000,
        transactionTimeoutMs: 1000,
        cacheMaxBytes: 0,
        maxTaskIdleMs: 0,
        bootstrapServers: ['h:9092', 'x:65535'],
      }),
    ).not.toThrow()
  })
})

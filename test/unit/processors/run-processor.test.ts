// The runtime settings `agent-party run processor` gives its instance: what the environment says,
// accepted by the runtime as they are.
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../config/config.js'
import { resolveProcessorConfig } from '../../../processors/config.js'
import { processorStreamsSettings } from '../../../processors/run-processor.js'
import { resolveStreamsConfig } from '../../../topology/runtime/streams-config.js'

describe('processorStreamsSettings', () => {
  it('passes the tuning variables to the runtime, which resolves them unchanged', () => {
    const config = loadConfig({
      KAFKA_BOOTSTRAP_SERVERS: 'kafka-1:9092,kafka-2:9092',
      PROCESSING_GUARANTEE: 'exactly_once',
      PRODUCER_THREAD: 'false',
      COMMIT_INTERVAL_MS: '25',
      CACHE_MAX_BYTES: '0',
      MAX_TRANSACTION_RECORDS: '5000',
      TRANSACTION_TIMEOUT_MS: '30000',
      INSTANCE_ID: 'processor-0',
      STATE_STORE: 'lmdb',
      WINDOW_STATE_STORE: 'lmdb',
    })
    const settings = processorStreamsSettings(config, resolveProcessorConfig({}))
    const resolved = resolveStreamsConfig(settings)
    expect(resolved).toMatchObject({
      applicationId: 'agent_event_processor',
      bootstrapServers: ['kafka-1:9092', 'kafka-2:9092'],
      processingGuarantee: 'exactly_once',
      producerThread: false,
      commitIntervalMs: 25,
      cacheMaxBytes: 0,
      maxTransactionRecords: 5000,
      transactionTimeoutMs: 30_000,
      instanceId: 'processor-0',
      stateStore: 'lmdb',
      windowStateStore: 'lmdb',
    })
  })

  it("with no variables set, gives the runtime's defaults and the topology's event-time alignment", () => {
    const processor = resolveProcessorConfig({ applicationId: 'app-x', maxEventTimeDriftMs: 2000 })
    const settings = processorStreamsSettings(loadConfig({}), processor)
    const resolved = resolveStreamsConfig(settings)
    const defaults = resolveStreamsConfig({ applicationId: 'app-x', bootstrapServers: ['127.0.0.1:9092'] })
    expect(resolved.applicationId).toBe('app-x')
    expect(resolved.eventTimeAlignment?.maxDriftMs).toBe(2000)
    for (const key of [
      'processingGuarantee',
      'producerThread',
      'commitIntervalMs',
      'cacheMaxBytes',
      'maxTransactionRecords',
      'transactionTimeoutMs',
      'stateStore',
    ] as const) {
      expect(resolved[key], key).toEqual(defaults[key])
    }
  })
})

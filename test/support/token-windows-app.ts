// The topology the runtime's integration and chaos tests run: a per-key count and sum of tokens in
// tumbling windows (the runtime issue's workload), emitted once per window (emit final) or on every
// update, keyed as Kafka Streams' time-windowed key, valued as 8-byte count then 8-byte sum; with
// `combine` (APP_COMBINE=1) each task folds its records per key and window until it commits and the
// folds go through a repartition topic first; or (APP_TABLE=1) the per-key totals as a table, whose store
// APP_STATE_STORE=lmdb keeps in LMDB files. Run as a script it is one instance of the application,
// configured by environment variables, that runs until SIGTERM (a clean close) or SIGKILL (a crash).

import { pino } from 'pino'
import { createMetrics } from '../../config/metrics.js'
import { ProbeServer } from '../../config/probe-server.js'
import {
  EmitStrategy,
  Materialized,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  type Topology,
  WindowedSerdes,
} from '../../topology/index.js'
import { KafkaStreams } from '../../topology/runtime/index.js'

import { type CountSum, countSumSerde } from './count-sum.js'

export { type CountSum, countSumSerde }

export const WINDOW_MS = 60_000
export const GRACE_MS = 30_000

export function tokenWindowsTopology(
  input: string,
  output: string,
  emitFinal: boolean,
  combine = false,
): Topology {
  const str = Serdes.String()
  const builder = new StreamsBuilder()
  const tokens = builder.stream<string, number>(input, { keySerde: str, valueSerde: Serdes.Long() })
  const one = (_key: string, value: number, agg: CountSum): CountSum => ({
    count: agg.count + 1,
    sum: agg.sum + value,
  })
  const windowed = combine
    ? // Each task folds its records per key and window until it commits; the folds go through a
      // repartition topic (selectKey marks the stream re-keyed) into windows that add them up.
      tokens
        .selectKey((key) => key)
        .combine(() => ({ count: 0, sum: 0 }), one, { name: 'token-folds', sliceMs: WINDOW_MS })
        .groupByKey({ name: 'token-folds-by-key', keySerde: str, valueSerde: countSumSerde })
        .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, GRACE_MS))
        .emitStrategy(emitFinal ? EmitStrategy.onWindowClose() : EmitStrategy.onWindowUpdate())
        .aggregate<CountSum>(
          () => ({ count: 0, sum: 0 }),
          (_key, fold, agg) => ({ count: agg.count + fold.count, sum: agg.sum + fold.sum }),
          Materialized.as<string, CountSum>('token-windows').withValueSerde(countSumSerde),
        )
    : tokens
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, GRACE_MS))
        .emitStrategy(emitFinal ? EmitStrategy.onWindowClose() : EmitStrategy.onWindowUpdate())
        .aggregate<CountSum>(
          () => ({ count: 0, sum: 0 }),
          one,
          Materialized.as<string, CountSum>('token-windows').withValueSerde(countSumSerde),
        )
  windowed
    .toStream()
    .to(output, { keySerde: WindowedSerdes.timeWindowed(str, WINDOW_MS), valueSerde: countSumSerde })
  return builder.build()
}

/**
 * The per-key count and sum of all tokens as a table (APP_TABLE=1), each update sent to `output`: a
 * key-value store, which APP_STATE_STORE=lmdb keeps in LMDB files.
 */
export function tokenTotalsTopology(input: string, output: string): Topology {
  const str = Serdes.String()
  const builder = new StreamsBuilder()
  builder
    .stream<string, number>(input, { keySerde: str, valueSerde: Serdes.Long() })
    .groupByKey()
    .aggregate<CountSum>(
      () => ({ count: 0, sum: 0 }),
      (_key, value, agg) => ({ count: agg.count + 1, sum: agg.sum + value }),
      Materialized.as<string, CountSum>('token-totals').withKeySerde(str).withValueSerde(countSumSerde),
    )
    .toStream()
    .to(output, { keySerde: str, valueSerde: countSumSerde })
  return builder.build()
}

// Kills this process (SIGKILL: no cleanup) at the n-th commit that produced records, after they were
// sent and before the offsets were committed: the at-least-once window for duplicates.
function crashAfter(n: number): (records: number) => void {
  let seen = 0
  return (records) => {
    if (records > 0 && ++seen >= n) {
      process.stdout.write('crashing before the offset commit\n')
      process.kill(process.pid, 'SIGKILL')
    }
  }
}

async function main(): Promise<void> {
  const env = process.env
  const required = (name: string): string => {
    const value = env[name]
    if (value === undefined || value === '') throw new Error(`${name} is required`)
    return value
  }
  const topology =
    env.APP_TABLE === '1'
      ? tokenTotalsTopology(required('APP_INPUT'), required('APP_OUTPUT'))
      : tokenWindowsTopology(
          required('APP_INPUT'),
          required('APP_OUTPUT'),
          env.APP_EMIT !== 'update',
          env.APP_COMBINE === '1',
        )
  const metrics = createMetrics()
  const streams = new KafkaStreams(topology, {
    metrics: metrics.streams,
    engineMetrics: metrics.engine,
    applicationId: required('APP_ID'),
    bootstrapServers: required('APP_BOOTSTRAP').split(','),
    stateDir: required('APP_STATE_DIR'),
    stateStore: env.APP_STATE_STORE === 'lmdb' ? 'lmdb' : 'memory',
    ...(env.APP_INSTANCE_ID ? { instanceId: env.APP_INSTANCE_ID } : {}),
    // The runtime's debug log (producer epochs, committed offsets, restore ranges, commits), appended
    // synchronously so that a SIGKILL loses none of it: the chaos tests print it on a failure.
    ...(env.APP_LOG_FILE
      ? {
          logger: pino(
            { level: 'debug', base: { pid: process.pid } },
            pino.destination({ dest: env.APP_LOG_FILE, append: true, sync: true }),
          ),
        }
      : {}),
    processingGuarantee: env.APP_GUARANTEE === 'at_least_once' ? 'at_least_once' : 'exactly_once',
    groupProtocol: env.APP_GROUP_PROTOCOL === 'consumer' ? 'consumer' : 'classic',
    sessionTimeoutMs: Number(env.APP_SESSION_TIMEOUT_MS ?? 6000),
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: Number(env.APP_REBALANCE_TIMEOUT_MS ?? 10_000),
    transactionTimeoutMs: Number(env.APP_TRANSACTION_TIMEOUT_MS ?? 5000),
    commitIntervalMs: Number(env.APP_COMMIT_INTERVAL_MS ?? 100),
    ...(env.APP_CRASH_BEFORE_OFFSET_COMMIT === undefined
      ? {}
      : { onBeforeOffsetCommit: crashAfter(Number(env.APP_CRASH_BEFORE_OFFSET_COMMIT)) }),
  })
  // How long processing stopped for each rebalance (REBALANCING -> RUNNING), for the tests to report.
  let rebalancingSince = 0
  streams.on('state', (state: string) => {
    process.stdout.write(`state ${state}\n`)
    if (state === 'REBALANCING') rebalancingSince = performance.now()
    else if (state === 'RUNNING' && rebalancingSince > 0) {
      process.stdout.write(`pause ${Math.round(performance.now() - rebalancingSince)}\n`)
    }
  })
  streams.on('error', (error: unknown) => {
    process.stderr.write(`error ${String(error)}\n`)
    process.exit(3)
  })
  process.on('SIGTERM', () => {
    streams.close({ timeoutMs: 10_000 }).then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
  if (env.APP_PROBE_PORT !== undefined) {
    const probes = new ProbeServer({ registry: metrics.registry, ready: () => streams.readiness() })
    process.stdout.write(`probe ${await probes.start(Number(env.APP_PROBE_PORT), '127.0.0.1')}\n`)
  }
  await streams.start()
  setInterval(() => {
    process.stdout.write(`tasks ${JSON.stringify(streams.status().activeTasks)}\n`)
  }, 1000)
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  main().catch((error) => {
    process.stderr.write(`fatal ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(2)
  })
}

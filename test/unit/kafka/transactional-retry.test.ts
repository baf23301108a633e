// How long the transactional producer waits before retrying: CONCURRENT_TRANSACTIONS (the coordinator
// still finishing the previous transaction, which every commit right after another can meet) is retried
// within milliseconds, as the Java producer does; any other error after the client's usual second.
import { MultipleErrors, NetworkError, ProtocolError, ResponseError } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { TRANSACTIONAL_RETRIES, transactionalRetryDelay } from '../../../kafka/clients.js'

/** The error AddPartitionsToTxn fails with when every partition is refused with code 51. */
function concurrentTransactions(): Error {
  return new ResponseError(
    24,
    5,
    {
      '/results_by_topic_v3_and_below/0/results_by_partition/0': [51, null],
      '/results_by_topic_v3_and_below/0/results_by_partition/1': [51, null],
    },
    undefined,
  )
}

const delays = (error: Error) =>
  Array.from({ length: TRANSACTIONAL_RETRIES }, (_, i) =>
    transactionalRetryDelay(undefined, 'addPartitionsToTransaction', i + 1, TRANSACTIONAL_RETRIES, error),
  )

describe('transactionalRetryDelay', () => {
  it('retries CONCURRENT_TRANSACTIONS within 100 ms for the first 840 ms, for no less time in all than before', () => {
    const waits = delays(concurrentTransactions())
    expect(waits).toEqual([20, 40, 80, 100, 100, 100, 100, 100, 100, 100, ...Array(10).fill(250)])
    // The client's defaults (3 retries, 1 s apart) waited 3 s before failing the commit.
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3000)
  })

  it('finds the error however deep the client wrapped it', () => {
    const wrapped = new MultipleErrors('addPartitionsToTransaction failed 2 times.', [
      new NetworkError('Connection closed'),
      concurrentTransactions(),
    ])
    expect(transactionalRetryDelay(undefined, 'addPartitionsToTransaction', 1, 8, wrapped)).toBe(20)
    expect(transactionalRetryDelay(undefined, 'initProducerId', 1, 8, new ProtocolError(51))).toBe(20)
  })

  it('waits the usual second for any other error', () => {
    expect(new Set(delays(new ProtocolError('NOT_LEADER_OR_FOLLOWER')))).toEqual(new Set([1000]))
    expect(new Set(delays(new NetworkError('Connection refused')))).toEqual(new Set([1000]))
    expect(transactionalRetryDelay(undefined, 'send', 1, 8, new Error('not a client error'))).toBe(1000)
  })
})

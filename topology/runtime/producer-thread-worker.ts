// The worker side of producer-thread.ts: one transactional producer and its TransactionalCommitter,
// driven by the processing thread's messages in the order they were sent.
import { parentPort, workerData } from 'node:worker_threads'
import { createTransactionalProducer } from '../../kafka/clients.js'
import { type DeferredRecords, TransactionalCommitter } from './committer.js'
import {
  type FromWorker,
  type PackedRecords,
  type ProducerThreadOptions,
  type ToWorker,
  toErrorTree,
  unpackRecords,
} from './producer-thread.js'

const port = parentPort
if (port === null) throw new Error('producer-thread-worker.ts runs as a worker thread only')

const options = workerData as ProducerThreadOptions
const producer = createTransactionalProducer<Buffer, Buffer, Buffer, Buffer>(
  options.kafka,
  options.transactionalId,
  { clientId: options.clientId, timeout: options.timeout },
)
// Updated from each commit message before the commit reads it.
const member = { groupId: '', memberId: '', coordinatorId: 0 }
const committer = new TransactionalCommitter(producer, member)

/**
 * Unpacked when its turn to be sent comes: a batch queued behind a slower send stays one buffer
 * meanwhile, and one that cannot be unpacked fails the commit it belongs to with its own error (it
 * used to throw in this handler and end the thread).
 */
function deferred(packed: PackedRecords): DeferredRecords {
  return { count: packed.count, make: () => unpackRecords(packed) }
}

function reply(id: number, error?: unknown): void {
  const identity = { producerId: producer.producerId, producerEpoch: producer.producerEpoch }
  const message: FromWorker =
    error === undefined ? { id, ok: true, identity } : { id, ok: false, error: toErrorTree(error), identity }
  port?.postMessage(message)
}

function settle(id: number, work: Promise<void>): void {
  work.then(
    () => reply(id),
    (error: unknown) => reply(id, error),
  )
}

port.on('message', (message: ToWorker) => {
  switch (message.op) {
    case 'initialize':
      settle(message.id, committer.initialize())
      return
    case 'handoff':
      committer.handoff(deferred(message.records))
      return
    case 'discard':
      committer.discard()
      return
    case 'commit': {
      member.groupId = message.member.groupId
      member.memberId = message.member.memberId
      member.coordinatorId = message.member.coordinatorId
      settle(
        message.id,
        committer.commit(deferred(message.records), message.offsets, message.member.generationId),
      )
      return
    }
    case 'close':
      settle(message.id, committer.close())
      return
    case 'exit':
      port.close()
      return
  }
})

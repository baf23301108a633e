// The worker side of producer-thread.ts: one transactional producer and its TransactionalCommitter,
// driven by the processing thread's messages in the order they were sent.
import { parentPort, workerData } from 'node:worker_threads'
import { createTransactionalProducer } from '../../kafka/clients.js'
import { TransactionalCommitter } from './committer.js'
import {
  type FromWorker,
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
      committer.handoff(unpackRecords(message.records))
      return
    case 'discard':
      committer.discard()
      return
    case 'commit': {
      member.groupId = message.member.groupId
      member.memberId = message.member.memberId
      member.coordinatorId = message.member.coordinatorId
      let work: Promise<void>
      try {
        work = committer.commit(unpackRecords(message.records), message.offsets, message.member.generationId)
      } catch (error) {
        work = Promise.reject(error)
      }
      settle(message.id, work)
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

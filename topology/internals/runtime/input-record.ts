// A record as a task receives it from a topic partition: bytes plus its place in the log. It is also the
// record context of everything processed from it, so no second object is made per record.
import type { RecordContext } from '../../processor.js'

export interface InputRecord extends RecordContext {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer | null
}

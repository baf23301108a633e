// The value of the token-windows workload (the runtime issue's P2): a window's count and sum of tokens,
// serialized as Kafka Streams' benchmark output expects (8-byte big-endian count, then sum). Kept apart
// from the app so that what measures the store's memory (bench/p7.ts) does not load the Kafka client.
import type { Serde } from '../../topology/index.js'

export interface CountSum {
  count: number
  sum: number
}

export const countSumSerde: Serde<CountSum> = {
  serialize: (_topic, value) => {
    const out = Buffer.alloc(16)
    out.writeBigInt64BE(BigInt(value.count), 0)
    out.writeBigInt64BE(BigInt(value.sum), 8)
    return out
  },
  deserialize: (_topic, bytes) => ({
    count: Number(bytes.readBigInt64BE(0)),
    sum: Number(bytes.readBigInt64BE(8)),
  }),
}

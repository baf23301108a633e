// CRC-64-AVRO, the Rabin fingerprint the Avro spec defines for schema fingerprints (single-object
// encoding carries it). avsc only offers crypto hashes (md5, sha256), so this small table-driven
// version is hand-written; it is checked against the fingerprints of Avro's own test data.

const EMPTY = 0xc15d213aa4d7a795n
const MASK = 0xffffffffffffffffn

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = []
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i)
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK)
    table.push(fp)
  }
  return table
})()

/** The unsigned 64-bit CRC-64-AVRO fingerprint of `bytes`. */
export function rabinFingerprint64(bytes: Uint8Array): bigint {
  let fp = EMPTY
  for (const byte of bytes) fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint)
  return fp
}

/** As Java's `SchemaNormalization.parsingFingerprint64` prints it: a signed 64-bit number. */
export function toSignedFingerprint(fingerprint: bigint): bigint {
  return BigInt.asIntN(64, fingerprint)
}

export function fingerprintHex(fingerprint: bigint): string {
  return fingerprint.toString(16).padStart(16, '0')
}

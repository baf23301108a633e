// Password hashes for the API's user store: scrypt (node:crypto, memory-hard, no native module),
// stored as `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` so that the cost can rise later without
// invalidating the hashes already stored. Verification compares in constant time.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const N = 16384
const R = 8
const P = 1
const KEY_LENGTH = 32

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  )
}

export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new Error('a password cannot be empty')
  const salt = randomBytes(16)
  const hash = await derive(password, salt, N, R, P)
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`
}

/** Whether `stored` has the form hashPassword writes (for validating a user store). */
export function isPasswordHash(stored: string): boolean {
  return parse(stored) !== undefined
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored)
  if (parsed === undefined) return false
  try {
    const hash = await derive(password, parsed.salt, parsed.n, parsed.r, parsed.p)
    return hash.length === parsed.hash.length && timingSafeEqual(hash, parsed.hash)
  } catch {
    // Parameters scrypt refuses: no password matches such a hash.
    return false
  }
}

/** A hash of no user's password, verified for unknown users so that timing does not tell who exists. */
export const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_LENGTH).toString('base64')}`

function parse(stored: string): { n: number; r: number; p: number; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  // Bounds scrypt accepts that keep one verification within 256 MiB: N a power of two in [2, 2^20],
  // r in [1, 32], p in [1, 16].
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0)) return undefined
  if (n < 2 || n > 2 ** 20 || (n & (n - 1)) !== 0 || r > 32 || p > 16 || 128 * n * r > 256 * 1024 * 1024)
    return undefined
  const salt = Buffer.from(parts[4] as string, 'base64')
  const hash = Buffer.from(parts[5] as string, 'base64')
  if (salt.length < 8 || hash.length < 16) return undefined
  return { n, r, p, salt, hash }
}

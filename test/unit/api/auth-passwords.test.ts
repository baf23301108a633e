// Password hashes of the API's user store: what POST /token and `agent-party users add` rely on —
// a round trip, wrong passwords refused, malformed or unusable hashes refused (never a crash), the
// dummy hash for unknown users, and the cost parameters read from the hash itself.
import { scrypt } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DUMMY_HASH, hashPassword, isPasswordHash, verifyPassword } from '../../../api/auth/passwords.js'

const b64 = (bytes: number, fill = 7) => Buffer.alloc(bytes, fill).toString('base64')

function scryptHash(password: string, salt: Buffer, n: number, r: number, p: number): Promise<string> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: n, r, p }, (error, key) =>
      error
        ? reject(error)
        : resolve(`scrypt$${n}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`),
    ),
  )
}

describe('hashPassword / verifyPassword', () => {
  it('verifies the password it hashed, and no other', async () => {
    const stored = await hashPassword('correct horse battery staple')
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
    expect(isPasswordHash(stored)).toBe(true)
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true)
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false)
    expect(await verifyPassword('Correct horse battery staple', stored)).toBe(false)
    expect(await verifyPassword('', stored)).toBe(false)
  })

  it('salts: the same password hashes differently each time, and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same-password'), hashPassword('same-password')])
    expect(a).not.toBe(b)
    expect(await verifyPassword('same-password', a)).toBe(true)
    expect(await verifyPassword('same-password', b)).toBe(true)
  })

  it('handles non-ASCII passwords', async () => {
    const stored = await hashPassword('pässwörd-密码-🔑')
    expect(await verifyPassword('pässwörd-密码-🔑', stored)).toBe(true)
    expect(await verifyPassword('passwort-密码-🔑', stored)).toBe(false)
  })

  it('refuses to hash an empty password', async () => {
    await expect(hashPassword('')).rejects.toThrow(/empty/)
  })
})

describe('cost parameters', () => {
  it('are read from the hash, so hashes written with another cost still verify', async () => {
    const salt = Buffer.alloc(16, 3)
    const cheaper = await scryptHash('old-password', salt, 1024, 4, 2)
    expect(isPasswordHash(cheaper)).toBe(true)
    expect(await verifyPassword('old-password', cheaper)).toBe(true)
    expect(await verifyPassword('other-password', cheaper)).toBe(false)
    // the same key under other parameters is another hash: the parameters are not ignored
    const [, , , , s, h] = cheaper.split('$')
    expect(await verifyPassword('old-password', `scrypt$1024$8$2$${s}$${h}`)).toBe(false)
    expect(await verifyPassword('old-password', `scrypt$2048$4$2$${s}$${h}`)).toBe(false)
    expect(await verifyPassword('old-password', `scrypt$1024$4$1$${s}$${h}`)).toBe(false)
  })
})

describe('malformed hashes', () => {
  const good = `scrypt$16384$8$1$${b64(16)}$${b64(32)}`
  const malformed: [string, string][] = [
    ['empty', ''],
    ['plain text', 'hunter2hunter2'],
    ['another scheme', good.replace(/^scrypt/, 'bcrypt')],
    ['too few fields', `scrypt$16384$8$1$${b64(16)}`],
    ['too many fields', `${good}$extra`],
    ['N not a power of two', `scrypt$1000$8$1$${b64(16)}$${b64(32)}`],
    ['N too large', `scrypt$${2 ** 21}$8$1$${b64(16)}$${b64(32)}`],
    ['N zero', `scrypt$0$8$1$${b64(16)}$${b64(32)}`],
    ['N negative', `scrypt$-16384$8$1$${b64(16)}$${b64(32)}`],
    ['N not a number', `scrypt$lots$8$1$${b64(16)}$${b64(32)}`],
    ['r fractional', `scrypt$16384$8.5$1$${b64(16)}$${b64(32)}`],
    ['p zero', `scrypt$16384$8$0$${b64(16)}$${b64(32)}`],
    ['salt too short', `scrypt$16384$8$1$${b64(4)}$${b64(32)}`],
    ['hash too short', `scrypt$16384$8$1$${b64(16)}$${b64(8)}`],
    ['salt empty', `scrypt$16384$8$1$$${b64(32)}`],
  ]
  it.each(malformed)('%s is not a password hash and verifies nothing', async (_, stored) => {
    expect(isPasswordHash(stored)).toBe(false)
    expect(await verifyPassword('', stored)).toBe(false)
    expect(await verifyPassword('hunter2hunter2', stored)).toBe(false)
  })

  // Parameters that node:crypto's scrypt refuses: a store that passes validation with such a hash
  // would make POST /token fail with a 500 for that user instead of a clean refusal.
  const unusable: [string, string][] = [
    ['N = 1 (scrypt needs N > 1)', `scrypt$1$8$1$${b64(16)}$${b64(32)}`],
    ['r * p too large', `scrypt$16384$8$${2 ** 30}$${b64(16)}$${b64(32)}`],
  ]
  it.each(unusable)(
    '%s is refused by isPasswordHash, and verifyPassword answers false',
    async (_, stored) => {
      expect.soft(isPasswordHash(stored), 'isPasswordHash').toBe(false)
      await expect.soft(verifyPassword('any-password', stored), 'verifyPassword').resolves.toBe(false)
    },
  )
})

describe('DUMMY_HASH (checked for unknown users so that timing does not reveal who exists)', () => {
  it('is a well-formed hash with the current cost, so checking it costs what a real check costs', async () => {
    expect(isPasswordHash(DUMMY_HASH)).toBe(true)
    const real = await hashPassword('x')
    expect(DUMMY_HASH.split('$').slice(0, 4)).toEqual(real.split('$').slice(0, 4))
    expect(Buffer.from(DUMMY_HASH.split('$')[5] as string, 'base64')).toHaveLength(
      Buffer.from(real.split('$')[5] as string, 'base64').length,
    )
  })

  it('verifies no password', async () => {
    for (const password of ['', 'password', 'admin', '\0'.repeat(32)])
      expect(await verifyPassword(password, DUMMY_HASH)).toBe(false)
  })
})

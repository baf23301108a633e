// The API's user store (API_USERS_FILE): validation that names the entry and field of each problem,
// and `addUser` (behind `agent-party users add`) writing the file private (0600), replacing a user
// and keeping the others.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { hashPassword, verifyPassword } from '../../../api/auth/passwords.js'
import { addUser, loadUsers, parseUsers, UserStoreError } from '../../../api/auth/users.js'

const HASH = `scrypt$16384$8$1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`
const user = (username: string, role: string, passwordHash = HASH) => ({ username, role, passwordHash })

function problem(text: string): string {
  try {
    parseUsers(text, '/etc/agent-party/users.json')
  } catch (error) {
    expect(error).toBeInstanceOf(UserStoreError)
    expect((error as UserStoreError).code).toBe('USER_STORE_INVALID')
    return (error as Error).message
  }
  throw new Error('parseUsers accepted it')
}

describe('parseUsers', () => {
  it('reads a valid store into a map by username', () => {
    const users = parseUsers(
      JSON.stringify([
        user('alice', 'admin'),
        user('bob.ops@example.com', 'operator'),
        user('carol_1', 'viewer'),
      ]),
      'users.json',
    )
    expect([...users.keys()]).toEqual(['alice', 'bob.ops@example.com', 'carol_1'])
    expect(users.get('alice')).toEqual({ username: 'alice', role: 'admin', passwordHash: HASH })
    expect(users.get('bob.ops@example.com')?.role).toBe('operator')
    expect(parseUsers('[]', 'users.json').size).toBe(0)
  })

  it('refuses a file that is not JSON, naming the file', () => {
    expect(problem('[{"username": "alice",')).toMatch(/^\/etc\/agent-party\/users\.json: not JSON/)
  })

  it.each(['{}', '{"alice": {"role": "admin"}}', '"alice"', 'null', '42'])(
    'refuses %s: not an array',
    (text) => {
      expect(problem(text)).toBe('/etc/agent-party/users.json: expected a JSON array of users')
    },
  )

  it('names the entry and field of a bad role', () => {
    const message = problem(JSON.stringify([user('alice', 'admin'), user('bob', 'root')]))
    expect(message).toMatch(/entry 1 \.role: not one of viewer, operator, admin/)
    expect(message).not.toMatch(/entry 0/)
  })

  it.each(['', 'has space', 'semi;colon', 'a/b', 'ü', 'x'.repeat(65)])(
    'names the entry and field of bad username %j',
    (username) => {
      expect(problem(JSON.stringify([user(username, 'viewer')]))).toMatch(
        /entry 0 \.username: not 1-64 of letters, digits/,
      )
    },
  )

  it('accepts a username of 64 characters', () => {
    expect(parseUsers(JSON.stringify([user('x'.repeat(64), 'viewer')]), 'users.json').size).toBe(1)
  })

  it.each(['', 'hunter2', '$2b$12$abcdefghijklmnopqrstuv', HASH.replace('16384', '1000')])(
    'names the entry and field of bad hash %j, without printing it',
    (hash) => {
      const message = problem(JSON.stringify([user('alice', 'admin'), user('eve', 'viewer', hash)]))
      expect(message).toMatch(/entry 1 \.passwordHash: not a hash written by `agent-party users add`/)
      if (hash !== '') expect(message).not.toContain(hash)
    },
  )

  it('names the entry of a duplicate user', () => {
    const message = problem(
      JSON.stringify([user('alice', 'admin'), user('bob', 'viewer'), user('alice', 'viewer')]),
    )
    expect(message).toMatch(/entry 2: user 'alice' appears twice/)
  })

  it('lists every problem, not only the first', () => {
    const message = problem(
      JSON.stringify([
        user('ok', 'viewer'),
        user('bad name', 'viewer'),
        user('carol', 'superuser'),
        null,
        { username: 'dave' },
      ]),
    )
    expect(message).toMatch(/entry 1 \.username/)
    expect(message).toMatch(/entry 2 \.role/)
    expect(message).toMatch(/entry 3: /)
    expect(message).toMatch(/entry 4 \.role/)
    expect(message).toMatch(/entry 4 \.passwordHash/)
  })
})

describe('loadUsers / addUser', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auth-users-'))
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('loadUsers names the file and API_USERS_FILE when it cannot be read', () => {
    const file = join(dir, 'missing.json')
    expect(() => loadUsers(file)).toThrow(UserStoreError)
    expect(() => loadUsers(file)).toThrow(new RegExp(`${file}: cannot be read .*API_USERS_FILE`))
  })

  it('addUser creates the file, readable only by its owner, with a hash that verifies', async () => {
    const file = join(dir, 'users.json')
    await addUser(file, 'alice', 'admin', 'alice-password')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const users = loadUsers(file)
    expect([...users.keys()]).toEqual(['alice'])
    expect(users.get('alice')?.role).toBe('admin')
    expect(readFileSync(file, 'utf8')).not.toContain('alice-password')
    expect(await verifyPassword('alice-password', users.get('alice')?.passwordHash as string)).toBe(true)
    expect(readdirSync(dir)).toEqual(['users.json'])
  })

  it('addUser replaces a user (role and password) and keeps the others', async () => {
    const file = join(dir, 'users.json')
    writeFileSync(
      file,
      JSON.stringify([
        { username: 'alice', role: 'viewer', passwordHash: await hashPassword('old-password') },
        { username: 'bob', role: 'operator', passwordHash: HASH },
      ]),
    )
    await addUser(file, 'alice', 'admin', 'new-password')
    await addUser(file, 'carol', 'viewer', 'carol-password')
    const users = loadUsers(file)
    expect([...users.keys()].sort()).toEqual(['alice', 'bob', 'carol'])
    expect(users.get('alice')?.role).toBe('admin')
    expect(await verifyPassword('new-password', users.get('alice')?.passwordHash as string)).toBe(true)
    expect(await verifyPassword('old-password', users.get('alice')?.passwordHash as string)).toBe(false)
    expect(users.get('bob')).toEqual({ username: 'bob', role: 'operator', passwordHash: HASH })
    expect(users.get('carol')?.role).toBe('viewer')
    expect(readdirSync(dir)).toEqual(['users.json'])
  })

  it('addUser leaves the store private even when it was readable by others before', async () => {
    const file = join(dir, 'users.json')
    writeFileSync(file, '[]')
    chmodSync(file, 0o644)
    await addUser(file, 'alice', 'operator', 'alice-password')
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('addUser refuses to rewrite a store that is invalid, and leaves it as it was', async () => {
    const file = join(dir, 'users.json')
    const text = JSON.stringify([{ username: 'alice', role: 'root', passwordHash: HASH }])
    writeFileSync(file, text)
    await expect(addUser(file, 'bob', 'viewer', 'bob-password')).rejects.toThrow(/entry 0 \.role/)
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it('addUser refuses a bad username and writes nothing', async () => {
    const file = join(dir, 'users.json')
    await expect(addUser(file, 'bad name', 'viewer', 'some-password')).rejects.toThrow(/letters, digits/)
    expect(readdirSync(dir)).toEqual([])
  })
})

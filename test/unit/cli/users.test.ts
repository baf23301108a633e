// `agent-party users add`: the password read from standard input (never an argument), refused when
// short, the role required and checked, and the store written so that the API can load it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { verifyPassword } from '../../../api/auth/passwords.js'
import { loadUsers } from '../../../api/auth/users.js'
import { EXIT } from '../../../cli/exit-codes.js'
import { run } from '../../../cli/main.js'
import { captureOutputPerTest, runCli } from '../../support/cli.js'

const io = captureOutputPerTest()
let dir: string
let file: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-users-'))
  file = join(dir, 'users.json')
  vi.stubEnv('API_USERS_FILE', '')
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** Runs `agent-party ...args` in this process with `stdin` as its standard input. */
function runWithStdin(args: string[], stdin: string) {
  vi.spyOn(process, 'stdin', 'get').mockReturnValue(
    Readable.from([Buffer.from(stdin)]) as typeof process.stdin,
  )
  return run(args)
}

async function passwordOf(username: string): Promise<string> {
  return loadUsers(file).get(username)?.passwordHash as string
}

describe('agent-party users add', () => {
  it('writes the user with a hash of the password from standard input, private to its owner', async () => {
    expect(
      await runWithStdin(['users', 'add', 'alice', '--role', 'admin', '--file', file], 'alice-password\n'),
    ).toBe(EXIT.OK)
    expect(io.out).toBe(`user alice (admin) written to ${file}\n`)
    expect(io.err).toBe('')
    const users = loadUsers(file)
    expect([...users.keys()]).toEqual(['alice'])
    expect(users.get('alice')?.role).toBe('admin')
    // one trailing newline (as `echo` adds) is not part of the password
    expect(await verifyPassword('alice-password', await passwordOf('alice'))).toBe(true)
    expect(await verifyPassword('alice-password\n', await passwordOf('alice'))).toBe(false)
    expect(readFileSync(file, 'utf8')).not.toContain('alice-password')
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('keeps spaces and inner newlines of the password; strips one CRLF', async () => {
    expect(
      await runWithStdin(['users', 'add', 'bob', '--role', 'viewer', '--file', file], ' two words \r\n'),
    ).toBe(EXIT.OK)
    expect(await verifyPassword(' two words ', await passwordOf('bob'))).toBe(true)
  })

  it('uses API_USERS_FILE when --file is not given', async () => {
    vi.stubEnv('API_USERS_FILE', file)
    expect(await runWithStdin(['users', 'add', 'carol', '--role', 'operator'], 'carol-password')).toBe(
      EXIT.OK,
    )
    expect(loadUsers(file).get('carol')?.role).toBe('operator')
  })

  it('replaces a user and keeps the others', async () => {
    expect(
      await runWithStdin(['users', 'add', 'alice', '--role', 'viewer', '--file', file], 'first-password'),
    ).toBe(EXIT.OK)
    expect(
      await runWithStdin(['users', 'add', 'bob', '--role', 'operator', '--file', file], 'bob-password'),
    ).toBe(EXIT.OK)
    expect(
      await runWithStdin(['users', 'add', 'alice', '--role', 'admin', '--file', file], 'second-password'),
    ).toBe(EXIT.OK)
    const users = loadUsers(file)
    expect([...users.keys()].sort()).toEqual(['alice', 'bob'])
    expect(users.get('alice')?.role).toBe('admin')
    expect(await verifyPassword('second-password', await passwordOf('alice'))).toBe(true)
    expect(await verifyPassword('first-password', await passwordOf('alice'))).toBe(false)
    expect(await verifyPassword('bob-password', await passwordOf('bob'))).toBe(true)
  })

  it.each(['', '\n', 'short77', 'short77\n'])(
    'refuses the password %j (fewer than 8 characters) and writes nothing',
    async (stdin) => {
      expect(await runWithStdin(['users', 'add', 'alice', '--role', 'admin', '--file', file], stdin)).toBe(
        EXIT.FAILURE,
      )
      expect(io.err).toMatch(/at least 8 characters/)
      expect(readdirSync(dir)).toEqual([])
    },
  )

  it('requires --role', async () => {
    expect(await runWithStdin(['users', 'add', 'alice', '--file', file], 'alice-password')).toBe(EXIT.USAGE)
    expect(io.err).toMatch(/--role/)
    expect(readdirSync(dir)).toEqual([])
  })

  it.each(['root', 'Admin', ''])('refuses the role %j, listing the roles', async (role) => {
    expect(
      await runWithStdin(['users', 'add', 'alice', '--role', role, '--file', file], 'alice-password'),
    ).toBe(EXIT.USAGE)
    expect(io.err).toMatch(/viewer, operator, admin/)
    expect(readdirSync(dir)).toEqual([])
  })

  it('requires a username', async () => {
    expect(await runWithStdin(['users', 'add', '--role', 'admin', '--file', file], 'alice-password')).toBe(
      EXIT.USAGE,
    )
    expect(io.err).toMatch(/username/)
  })

  // A bad username is a bad argument: exit 2 (usage) with a one-line message, as for a bad role.
  it('refuses a bad username as a usage error with the rule, and writes nothing', async () => {
    expect(
      await runWithStdin(
        ['users', 'add', 'alice smith', '--role', 'admin', '--file', file],
        'alice-password',
      ),
    ).toBe(EXIT.USAGE)
    expect(io.err).toMatch(/username.*letters, digits/)
    expect(io.err.trim().split('\n')[0]).toMatch(/username/)
    expect(io.err).not.toContain('"code"')
    expect(readdirSync(dir)).toEqual([])
  })

  it('says how to name the store when neither --file nor API_USERS_FILE is given', async () => {
    expect(await runWithStdin(['users', 'add', 'alice', '--role', 'admin'], 'alice-password')).toBe(
      EXIT.FAILURE,
    )
    expect(io.err).toMatch(/--file or API_USERS_FILE/)
  })

  it('refuses to rewrite an invalid store, naming the problem', async () => {
    expect(
      await runWithStdin(['users', 'add', 'alice', '--role', 'admin', '--file', file], 'alice-password'),
    ).toBe(EXIT.OK)
    const broken = readFileSync(file, 'utf8').replace('"admin"', '"root"')
    writeFileSync(file, broken)
    expect(
      await runWithStdin(['users', 'add', 'bob', '--role', 'viewer', '--file', file], 'bob-password'),
    ).toBe(EXIT.FAILURE)
    expect(io.err).toMatch(/entry 0 \.role/)
    expect(readFileSync(file, 'utf8')).toBe(broken)
  })
})

describe('agent-party users add, as a user runs it (a child process, the password piped in)', () => {
  it('reads the password from a pipe', { timeout: 30_000 }, async () => {
    const { code, stdout, stderr } = await runCli(
      ['users', 'add', 'dave', '--role', 'operator'],
      { API_USERS_FILE: file },
      30_000,
      'dave-piped-password\n',
    )
    expect({ code, stderr }).toEqual({ code: EXIT.OK, stderr: '' })
    expect(stdout).toContain(`user dave (operator) written to ${file}`)
    expect(await verifyPassword('dave-piped-password', await passwordOf('dave'))).toBe(true)
  })
})

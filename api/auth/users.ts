// The API's user store: a JSON file of `{ username, role, passwordHash }` (API_USERS_FILE), read at
// start and validated whole, with the file and entry named in every problem. `addUser` writes it
// atomically (temporary file, then rename) with mode 0600, for `agent-party users add`.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { z } from 'zod'
import { hashPassword, isPasswordHash } from './passwords.js'
import { ROLES, type Role } from './roles.js'

export interface User {
  readonly username: string
  readonly role: Role
  readonly passwordHash: string
}

const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/
const USERNAME_RULE = 'not 1-64 of letters, digits, ., _, @ and -'

/** Why a user name is refused, or undefined when it is valid. */
export function usernameProblem(username: string): string | undefined {
  return USERNAME.test(username) ? undefined : `'${username}' is ${USERNAME_RULE}`
}

const userSchema = z.object({
  username: z.string().regex(USERNAME, USERNAME_RULE),
  role: z.enum(ROLES, { message: `not one of ${ROLES.join(', ')}` }),
  passwordHash: z.string().refine(isPasswordHash, 'not a hash written by `agent-party users add`'),
})

export class UserStoreError extends Error {
  readonly code = 'USER_STORE_INVALID'
}

export function parseUsers(text: string, source: string): Map<string, User> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new UserStoreError(`${source}: not JSON (${(error as Error).message})`)
  }
  if (!Array.isArray(json)) throw new UserStoreError(`${source}: expected a JSON array of users`)
  const users = new Map<string, User>()
  const problems: string[] = []
  json.forEach((entry, i) => {
    const parsed = userSchema.safeParse(entry)
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push(`entry ${i}${issue.path.length ? ` .${issue.path.join('.')}` : ''}: ${issue.message}`)
    } else if (users.has(parsed.data.username)) {
      problems.push(`entry ${i}: user '${parsed.data.username}' appears twice`)
    } else {
      users.set(parsed.data.username, parsed.data)
    }
  })
  if (problems.length > 0) throw new UserStoreError(`${source}: ${problems.join('; ')}`)
  return users
}

export function loadUsers(file: string): Map<string, User> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new UserStoreError(`${file}: cannot be read (${(error as Error).message}); check API_USERS_FILE`)
  }
  return parseUsers(text, file)
}

/** Adds or replaces a user in the store file (created when missing). */
export async function addUser(file: string, username: string, role: Role, password: string): Promise<void> {
  let users: Map<string, User>
  try {
    users = loadUsers(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).message.includes('ENOENT')) users = new Map()
    else throw error
  }
  const problem = usernameProblem(username)
  if (problem !== undefined) throw new UserStoreError(`user name ${problem}`)
  const user: User = { username, role, passwordHash: await hashPassword(password) }
  users.set(username, user)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify([...users.values()], null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, file)
}

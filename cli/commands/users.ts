// `agent-party users add <username> --role R`: adds (or replaces) a user of the API's user store
// (API_USERS_FILE, or --file), with a scrypt hash of the password read from standard input (never an
// argument, which would land in the shell history and the process list).
import { type Command, InvalidArgumentError, Option } from 'commander'
import { ROLES, type Role } from '../../api/auth/roles.js'
import { addUser, usernameProblem } from '../../api/auth/users.js'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

export function registerUsersCommand(program: Command): void {
  const users = program
    .command('users')
    .description("Manage the API's users (the store API_USERS_FILE names)")
  users
    .command('add')
    .description(
      'Add or replace a user; the password is read from standard input (e.g. `printf %s "$PW" | agent-party users add alice --role admin`)',
    )
    .argument('<username>', 'letters, digits, ., _, @ and -, at most 64', (value: string) => {
      const problem = usernameProblem(value)
      if (problem !== undefined) throw new InvalidArgumentError(problem)
      return value
    })
    .addOption(new Option('--role <role>', 'the role').choices(ROLES).makeOptionMandatory())
    .option('--file <path>', 'the store file (default: API_USERS_FILE)')
    .action(async (username: string, options: { role: Role; file?: string }) => {
      const file = options.file ?? process.env.API_USERS_FILE
      if (!file) throw new Error('name the store with --file or API_USERS_FILE')
      const password = await readStdin()
      if (password.length < 8)
        throw new Error('the password (standard input) must have at least 8 characters')
      await addUser(file, username, options.role, password)
      process.stdout.write(`user ${username} (${options.role}) written to ${file}\n`)
    })
}

// `agent-party token --role R`: mints an API token with the key the API signs with (API_JWT_SECRET,
// or API_JWT_PRIVATE_KEY_FILE), for scripts and curl, without a user store or a running API.
import { type Command, InvalidArgumentError, Option } from 'commander'
import { ROLES, type Role } from '../../api/auth/roles.js'
import { TokenService } from '../../api/auth/tokens.js'
import { ConfigError, loadConfig } from '../../config/config.js'
import { printJson } from '../output.js'

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a non-empty name')
  return value
}

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description(
      'Mint an API token (JWT) signed with the configured key (API_JWT_SECRET for HS256, or ' +
        'API_JWT_PRIVATE_KEY_FILE for RS256), valid for API_TOKEN_TTL_SECONDS; prints the token alone, ' +
        'e.g. curl -H "Authorization: Bearer $(agent-party token --role viewer)" ...',
    )
    .addOption(new Option('--role <role>', 'the role the token carries').choices(ROLES).makeOptionMandatory())
    .option('--subject <name>', 'the subject (sub) of the token', nonEmpty, 'agent-party-cli')
    .option('--json', 'print JSON: access_token, token_type, expires_in, subject, role')
    .action(async (options: { role: Role; subject: string; json?: boolean }) => {
      const jwt = loadConfig().api.jwt
      // With only an identity provider's JWKS the API checks tokens but has no key to sign one.
      if (jwt.secret === undefined && jwt.privateKeyFile === undefined)
        throw new ConfigError([
          {
            variable: 'API_JWT_SECRET',
            problem: 'no signing key is configured (API_JWT_SECRET and API_JWT_PRIVATE_KEY_FILE are empty)',
            expected:
              'a secret of at least 32 characters for HS256, or API_JWT_PRIVATE_KEY_FILE naming a PKCS#8 RSA key for RS256',
          },
        ])
      const issued = await (await TokenService.create(jwt)).issue(options.subject, options.role)
      if (options.json) printJson({ ...issued, subject: options.subject, role: options.role })
      else process.stdout.write(`${issued.access_token}\n`)
    })
}

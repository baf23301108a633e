// `agent-party token --role R`: a token the API accepts (TokenService verifies it) carrying the role
// and subject asked for, signed with API_JWT_SECRET (HS256) or API_JWT_PRIVATE_KEY_FILE (RS256); a
// configuration without a signing key is a configuration error naming the variable.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedHeader } from 'jose'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { TokenService } from '../../../api/auth/tokens.js'
import { EXIT } from '../../../cli/exit-codes.js'
import { run } from '../../../cli/main.js'
import { loadConfig } from '../../../config/config.js'
import { captureOutputPerTest } from '../../support/cli.js'

const SECRET = 'a-local-secret-of-more-than-32-characters'
const io = captureOutputPerTest()

beforeEach(() => {
  for (const name of ['API_JWT_SECRET', 'API_JWT_PRIVATE_KEY_FILE', 'API_JWT_JWKS_URL', 'API_JWT_KEY_ID'])
    vi.stubEnv(name, '')
})

/** What the API would make of the token: its configuration from the same environment. */
async function verify(token: string) {
  const tokens = await TokenService.create(loadConfig().api.jwt)
  return tokens.verify(`Bearer ${token}`)
}

describe('agent-party token', () => {
  it('prints a token alone, signed with API_JWT_SECRET, that the API accepts with the role asked for', async () => {
    vi.stubEnv('API_JWT_SECRET', SECRET)
    expect(await run(['token', '--role', 'operator'])).toBe(EXIT.OK)
    expect(io.err).toBe('')
    expect(io.out).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    const token = io.out.trim()
    expect(decodeProtectedHeader(token).alg).toBe('HS256')
    expect(await verify(token)).toEqual({ subject: 'agent-party-cli', role: 'operator' })
  })

  it('prints JSON with expires_in and carries the subject asked for', async () => {
    vi.stubEnv('API_JWT_SECRET', SECRET)
    vi.stubEnv('API_TOKEN_TTL_SECONDS', '120')
    expect(await run(['token', '--role', 'viewer', '--subject', 'ci-job', '--json'])).toBe(EXIT.OK)
    const answer = JSON.parse(io.out)
    expect(answer).toMatchObject({ token_type: 'bearer', expires_in: 120, subject: 'ci-job', role: 'viewer' })
    expect(await verify(answer.access_token)).toEqual({ subject: 'ci-job', role: 'viewer' })
    // A token of another key is not accepted: the signature is the configured secret's.
    vi.stubEnv('API_JWT_SECRET', `${SECRET}-other`)
    await expect(verify(answer.access_token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
  })

  it('signs RS256 with API_JWT_PRIVATE_KEY_FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-token-'))
    try {
      const key = join(dir, 'key.pem')
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem' }))
      vi.stubEnv('API_JWT_PRIVATE_KEY_FILE', key)
      expect(await run(['token', '--role', 'admin'])).toBe(EXIT.OK)
      const token = io.out.trim()
      expect(decodeProtectedHeader(token).alg).toBe('RS256')
      expect(await verify(token)).toEqual({ subject: 'agent-party-cli', role: 'admin' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('exits 3 naming API_JWT_SECRET when no signing key is configured, even with a JWKS URL', async () => {
    expect(await run(['token', '--role', 'admin'])).toBe(EXIT.CONFIG)
    expect(io.err).toContain('API_JWT_SECRET')
    expect(io.out).toBe('')
    io.err = ''
    vi.stubEnv('API_JWT_JWKS_URL', 'https://idp.example.com/.well-known/jwks.json')
    expect(await run(['token', '--role', 'admin'])).toBe(EXIT.CONFIG)
    expect(io.err).toContain('API_JWT_SECRET')
    expect(io.err).toContain('API_JWT_PRIVATE_KEY_FILE')
  })

  it('exits 2 without a role, with an unknown role or an empty subject', async () => {
    vi.stubEnv('API_JWT_SECRET', SECRET)
    expect(await run(['token'])).toBe(EXIT.USAGE)
    expect(io.err).toContain("required option '--role <role>' not specified")
    io.err = ''
    expect(await run(['token', '--role', 'root'])).toBe(EXIT.USAGE)
    expect(io.err).toContain('Allowed choices are viewer, operator, admin')
    io.err = ''
    expect(await run(['token', '--role', 'admin', '--subject', ' '])).toBe(EXIT.USAGE)
    expect(io.err).toContain('expected a non-empty name')
    expect(io.out).toBe('')
  })
})

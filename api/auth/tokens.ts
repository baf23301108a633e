// Issues and checks the API's bearer tokens (JWT). Two ways to run, from configuration:
// - local: HS256 with API_JWT_SECRET; POST /token signs with it;
// - production: RS256 tokens of an identity provider, checked against its JWKS (API_JWT_JWKS_URL);
//   the API may also sign RS256 itself with API_JWT_PRIVATE_KEY_FILE (its public key then checks them).
// Only the algorithms configured are accepted (never `none`, never HS256 with an RSA key), and every
// token must carry the configured issuer and audience, an expiry, a subject and a role.
import { createPrivateKey, createSecretKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import {
  type CryptoKey,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  exportJWK,
  importPKCS8,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
  SignJWT,
} from 'jose'
import type { Config } from '../../config/config.js'
import { ConfigError } from '../../config/config.js'
import { highestRole, isRole, type Role } from './roles.js'

export interface Principal {
  readonly subject: string
  readonly role: Role
}

export type AuthErrorCode = 'TOKEN_MISSING' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'AUTH_UNAVAILABLE'

/** Why a request is not authenticated: 401, or 503 when the identity provider's keys cannot be fetched. */
export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'AuthError'
  }
  get statusCode(): number {
    return this.code === 'AUTH_UNAVAILABLE' ? 503 : 401
  }
}

export interface IssuedToken {
  readonly access_token: string
  readonly token_type: 'bearer'
  readonly expires_in: number
}

type JwtConfig = Config['api']['jwt']

export class TokenService {
  readonly #jwt: JwtConfig
  /** A KeyObject: jose then verifies HS256 through node:crypto, not by importing the key on each call. */
  readonly #secret: KeyObject | undefined
  /** Tokens verified before, until they expire: a request with a known token costs a lookup. */
  readonly #verified = new Map<string, { principal: Principal; expiresAt: number }>()
  readonly #signingKey: CryptoKey | KeyObject | undefined
  /** The public key of the API's own RS256 signing key. */
  readonly #localKeys: JWTVerifyGetKey | undefined
  /** The identity provider's JWKS. */
  readonly #remoteKeys: JWTVerifyGetKey | undefined
  readonly #algorithms: string[]

  private constructor(
    jwt: JwtConfig,
    signingKey: CryptoKey | KeyObject | undefined,
    localKeys: JWTVerifyGetKey | undefined,
    remoteKeys: JWTVerifyGetKey | undefined,
  ) {
    this.#jwt = jwt
    this.#secret = jwt.secret === undefined ? undefined : createSecretKey(Buffer.from(jwt.secret, 'utf8'))
    this.#signingKey = signingKey
    this.#localKeys = localKeys
    this.#remoteKeys = remoteKeys
    this.#algorithms = [...(this.#secret ? ['HS256'] : []), ...(localKeys || remoteKeys ? ['RS256'] : [])]
  }

  /** Fails with a ConfigError naming the variables when no way to check tokens is configured. */
  static async create(jwt: JwtConfig): Promise<TokenService> {
    if (jwt.secret === undefined && jwt.jwksUrl === undefined && jwt.privateKeyFile === undefined)
      throw new ConfigError([
        {
          variable: 'API_JWT_SECRET',
          problem:
            'no way to check tokens is configured (API_JWT_SECRET, API_JWT_JWKS_URL and API_JWT_PRIVATE_KEY_FILE are all empty)',
          expected:
            'a secret of at least 32 characters for HS256, or API_JWT_JWKS_URL for RS256 tokens of an identity provider',
        },
      ])
    let signingKey: CryptoKey | KeyObject | undefined
    let localKeys: JWTVerifyGetKey | undefined
    if (jwt.privateKeyFile !== undefined) {
      try {
        const pem = readFileSync(jwt.privateKeyFile, 'utf8')
        // jose signs RS256 only with keys of 2048 bits or more: refuse a shorter one at start.
        const bits = createPrivateKey(pem).asymmetricKeyDetails?.modulusLength
        if (bits !== undefined && bits < 2048)
          throw new Error(`an RSA key of ${bits} bits; RS256 needs 2048 or more`)
        signingKey = await importPKCS8(pem, 'RS256', { extractable: true })
      } catch (error) {
        throw new ConfigError([
          {
            variable: 'API_JWT_PRIVATE_KEY_FILE',
            problem: `'${jwt.privateKeyFile}' is not a usable RSA private key (${(error as Error).message})`,
            expected:
              'a PKCS#8 PEM RSA key, e.g. from `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`',
          },
        ])
      }
      const { d, p, q, dp, dq, qi, ...publicJwk } = await exportJWK(signingKey)
      localKeys = createLocalJWKSet({
        keys: [{ ...publicJwk, alg: 'RS256', ...(jwt.keyId ? { kid: jwt.keyId } : {}) }],
      })
    }
    let remoteKeys: JWTVerifyGetKey | undefined
    if (jwt.jwksUrl !== undefined) {
      const jwks = createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5000 })
      // A JWKS that cannot be fetched says nothing about the token: 503, not 401.
      remoteKeys = async (header, token) => {
        try {
          return await jwks(header, token)
        } catch (error) {
          if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
            throw error
          throw new AuthError(
            'AUTH_UNAVAILABLE',
            "the identity provider's keys (API_JWT_JWKS_URL) cannot be fetched now",
          )
        }
      }
    }
    return new TokenService(jwt, signingKey, localKeys, remoteKeys)
  }

  /** Whether POST /token can sign (a secret or a private key is configured). */
  get canIssue(): boolean {
    return this.#secret !== undefined || this.#signingKey !== undefined
  }

  async issue(subject: string, role: Role): Promise<IssuedToken> {
    const jwt = new SignJWT({ role })
      .setSubject(subject)
      .setIssuer(this.#jwt.issuer)
      .setAudience(this.#jwt.audience)
      .setIssuedAt()
      .setExpirationTime(`${this.#jwt.ttlSeconds}s`)
    let token: string
    if (this.#signingKey !== undefined)
      token = await jwt
        .setProtectedHeader({
          alg: 'RS256',
          typ: 'JWT',
          ...(this.#jwt.keyId ? { kid: this.#jwt.keyId } : {}),
        })
        .sign(this.#signingKey)
    else if (this.#secret !== undefined)
      token = await jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.#secret)
    else throw new Error('this API checks tokens of an identity provider and issues none')
    return { access_token: token, token_type: 'bearer', expires_in: this.#jwt.ttlSeconds }
  }

  /** The caller of an `Authorization` header value, or an AuthError saying why not. */
  async verify(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '')
      throw new AuthError('TOKEN_MISSING', 'this route needs a bearer token (Authorization: Bearer <token>)')
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (!match) throw new AuthError('TOKEN_INVALID', 'the Authorization header is not `Bearer <token>`')
    const token = match[1] as string
    const known = this.#verified.get(token)
    if (known !== undefined) {
      if (known.expiresAt > Date.now()) return known.principal
      this.#verified.delete(token)
      throw new AuthError('TOKEN_EXPIRED', 'the token has expired')
    }
    const options = {
      issuer: this.#jwt.issuer,
      audience: this.#jwt.audience,
      algorithms: this.#algorithms,
      requiredClaims: ['exp', 'sub'],
    }
    const verifyWith = (rsa: JWTVerifyGetKey | undefined) => {
      const secret = this.#secret
      const key: JWTVerifyGetKey = async (header, input) => {
        if (header.alg === 'HS256' && secret) return secret
        if (header.alg === 'RS256' && rsa) return rsa(header, input)
        throw new errors.JOSEAlgNotAllowed(`algorithm ${String(header.alg)} is not accepted`)
      }
      return jwtVerify(token, key, options)
    }
    let payload: JWTPayload
    try {
      try {
        payload = (await verifyWith(this.#localKeys ?? this.#remoteKeys)).payload
      } catch (error) {
        // With both the API's own key and a provider's JWKS, a token the own key does not verify
        // (another key id, or none) may be the provider's.
        const retry =
          this.#localKeys !== undefined &&
          this.#remoteKeys !== undefined &&
          (error instanceof errors.JWSSignatureVerificationFailed ||
            error instanceof errors.JWKSNoMatchingKey)
        if (!retry) throw error
        payload = (await verifyWith(this.#remoteKeys)).payload
      }
    } catch (error) {
      throw toAuthError(error)
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new AuthError('TOKEN_INVALID', 'the token has no subject (`sub`, a non-empty string)')
    const role =
      Array.isArray(payload.roles) && payload.roles.length > 0
        ? highestRole(payload.roles)
        : isRole(payload.role)
          ? payload.role
          : undefined
    if (role === undefined)
      throw new AuthError(
        'TOKEN_INVALID',
        'the token carries no role (a `role` claim of viewer, operator or admin)',
      )
    const principal = { subject: payload.sub, role }
    if (this.#verified.size >= VERIFIED_CACHE_SIZE)
      this.#verified.delete(this.#verified.keys().next().value as string)
    this.#verified.set(token, { principal, expiresAt: (payload.exp as number) * 1000 })
    return principal
  }
}

const VERIFIED_CACHE_SIZE = 10_000

function toAuthError(error: unknown): AuthError {
  if (error instanceof AuthError) return error
  if (error instanceof errors.JWTExpired) return new AuthError('TOKEN_EXPIRED', 'the token has expired')
  if (error instanceof errors.JWKSTimeout || (error instanceof TypeError && /fetch/i.test(error.message)))
    return new AuthError(
      'AUTH_UNAVAILABLE',
      "the identity provider's keys (API_JWT_JWKS_URL) cannot be fetched now",
    )
  if (error instanceof errors.JWTClaimValidationFailed)
    return new AuthError(
      'TOKEN_INVALID',
      `the token's ${error.claim} claim is not accepted (${error.reason})`,
    )
  if (error instanceof errors.JOSEError)
    return new AuthError('TOKEN_INVALID', `the token is not valid (${error.code})`)
  return new AuthError('TOKEN_INVALID', 'the token is not valid')
}

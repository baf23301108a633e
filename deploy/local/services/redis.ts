// Redis 7 from Debian's redis-server package, AOF persistence (appendfsync everysec) under
// <stack>/redis, RDB snapshots off. Installed with apt-get when missing and we are root.
// Two users, from an ACL file the stack writes (<stack>/redis/users.acl): `default` without a
// password (everything local uses it), and the ACL user LOCAL_ACL_USER with a password and without
// the @dangerous commands, so that the production connection code (ACL user, password) is tested
// against a real server; stack.env has its URL as REDIS_ACL_URL.

import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { StackError } from '../errors.js'
import { tcpExchange } from '../net.js'
import type { LaunchSpec, ServiceContext, ServiceDefinition } from '../service.js'
import type { StackPorts } from '../types.js'

const run = promisify(execFile)

/** Local-only credentials, like s3proxy's (stack.env: REDIS_ACL_URL). */
export const LOCAL_ACL_USER = { username: 'agentparty', password: 'agentparty-redis-secret' } as const

/**
 * The ACL file: the password only as its SHA-256; the ACL user may run every command but the
 * @dangerous ones (FLUSHALL, KEYS, CONFIG, DEBUG...), except INFO, which clients ask at connect.
 */
export function aclFile(): string {
  const hash = createHash('sha256').update(LOCAL_ACL_USER.password).digest('hex')
  return [
    'user default on nopass ~* &* +@all',
    `user ${LOCAL_ACL_USER.username} on #${hash} ~* &* +@all -@dangerous +info`,
    '',
  ].join('\n')
}

function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin', '/usr/sbin']
  for (const dir of dirs) {
    const candidate = path.join(dir, 'redis-server')
    if (dir && existsSync(candidate)) return candidate
  }
  return undefined
}

async function installRedis(log: (line: string) => void): Promise<string> {
  const hint =
    'Install it with `sudo apt-get install redis-server` (Debian/Ubuntu), or put redis-server on PATH.'
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new StackError('REDIS_MISSING', `redis-server (Redis 7) not found. ${hint}`, { service: 'redis' })
  }
  log('redis: redis-server missing, installing it with apt-get (Debian package redis-server)...')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  try {
    await run('apt-get', ['update', '-q'], { env, maxBuffer: 64 * 1024 * 1024 })
    await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'redis-server'], {
      env,
      maxBuffer: 64 * 1024 * 1024,
    })
  } catch (err) {
    const e = err as { stderr?: string }
    throw new StackError(
      'INSTALL_FAILED',
      `redis: apt-get install redis-server failed. ${hint}\n${e.stderr ?? ''}`,
      {
        service: 'redis',
        cause: err,
      },
    )
  }
  const installed = findRedisServer()
  if (!installed) throw new StackError('REDIS_MISSING', `redis-server still not found after apt-get. ${hint}`)
  return installed
}

async function prepare(ctx: ServiceContext): Promise<LaunchSpec> {
  const server = findRedisServer() ?? (await installRedis(ctx.log))
  const dir = ctx.layout.serviceDir('redis')
  await mkdir(dir, { recursive: true })
  const acl = path.join(dir, 'users.acl')
  await writeFile(acl, aclFile(), { mode: 0o600 })
  return {
    command: server,
    args: [
      '--bind',
      '127.0.0.1',
      '--port',
      String(ctx.ports.redis),
      // AOF only: every write survives a restart (at most ~1 s lost on a crash), no fork for RDB.
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      dir,
      '--aclfile',
      acl,
      '--daemonize',
      'no',
      // Never write into the distribution's /var/log/redis; stdout goes to our log file.
      '--logfile',
      '',
    ],
  }
}

/** Ready = PING answers exactly PONG (while replaying the AOF it answers -LOADING). */
async function probe(ports: StackPorts): Promise<boolean> {
  const reply = await tcpExchange(ports.redis, Buffer.from('PING\r\n'), (buf) => {
    const text = buf.toString('latin1')
    return text.includes('\r\n') ? text : undefined
  })
  return reply === '+PONG\r\n'
}

export const redis: ServiceDefinition = {
  name: 'redis',
  portKeys: ['redis'],
  startTimeoutMs: 60_000,
  stopTimeoutMs: 15_000,
  prepare,
  probe,
  env: (p) => ({
    REDIS_URL: `redis://127.0.0.1:${p.redis}`,
    REDIS_ACL_URL: `redis://${LOCAL_ACL_USER.username}:${LOCAL_ACL_USER.password}@127.0.0.1:${p.redis}`,
  }),
}

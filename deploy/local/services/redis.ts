// Redis 7 from Debian's redis-server package, AOF persistence (appendfsync everysec) under
// <stack>/redis, RDB snapshots off. Installed with apt-get when missing and we are root.

import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { StackError } from '../errors.js'
import { tcpExchange } from '../net.js'
import type { LaunchSpec, ServiceContext, ServiceDefinition } from '../service.js'
import type { StackPorts } from '../types.js'

const run = promisify(execFile)

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
  env: (p) => ({ REDIS_URL: `redis://127.0.0.1:${p.redis}` }),
}

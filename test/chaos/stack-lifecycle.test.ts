// A second, throwaway local stack on other ports, driven through the CLI as a user would: up waits
// until every service answers, a second up is a no-op, a busy port is reported by name, and down
// leaves none of the stack's processes running. (The shared stack of the other tests is untouched.)
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseStackEnv } from '../../deploy/local/stack.js'
import { runCli } from '../support/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'agent-party-chaos-stack-'))
const ports = {
  STACK_KAFKA_PORT: '29092',
  STACK_KAFKA_CONTROLLER_PORT: '29093',
  STACK_KAFKA_SASL_PORT: '29094',
  STACK_NEO4J_BOLT_PORT: '27687',
  STACK_REDIS_PORT: '26379',
  STACK_S3_PORT: '29000',
  STACK_REGISTRY_PORT: '28081',
  STACK_REGISTRY_MANAGEMENT_PORT: '28091',
}

afterAll(async () => {
  await runCli(['stack', 'down', '--dir', dir], ports)
  rmSync(dir, { recursive: true, force: true })
})

interface Status {
  name: string
  running: boolean
  ready: boolean
  pid?: number
  port: number
}

async function status(): Promise<Status[]> {
  const result = await runCli(['stack', 'status', '--dir', dir, '--json'], ports)
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Status[]
}

/** Alive and not a zombie (stopped children of a parent that never reaps them stay listed as Z). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Every live process whose working directory or command line points into the stack folder. */
function processesOfStack(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      if (!alive(pid)) return false
      try {
        const cwd = readlinkSync(`/proc/${pid}/cwd`)
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        return cwd.startsWith(dir) || cmdline.includes(dir)
      } catch {
        return false
      }
    })
}

describe('agent-party stack', () => {
  let pids: number[] = []

  it('up starts the five services on the requested ports and waits until each answers', async () => {
    const up = await runCli(['stack', 'up', '--dir', dir, '--no-provision'], ports, 300_000)
    expect(up.code, up.stderr).toBe(0)
    const env = parseStackEnv(up.stdout)
    expect(env.KAFKA_BOOTSTRAP_SERVERS).toBe('127.0.0.1:29092')
    expect(env.KAFKA_SASL_BOOTSTRAP_SERVERS).toBe('127.0.0.1:29094')
    expect(env.NEO4J_URI).toBe('bolt://127.0.0.1:27687')
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:26379')
    expect(env.S3_ENDPOINT).toBe('http://127.0.0.1:29000')
    expect(env.SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:28081/apis/ccompat/v7')
    expect(parseStackEnv(readFileSync(join(dir, 'stack.env'), 'utf8'))).toEqual(env)

    const states = await status()
    expect(states.map((s) => [s.name, s.running, s.ready])).toEqual([
      ['kafka', true, true],
      ['neo4j', true, true],
      ['redis', true, true],
      ['s3', true, true],
      ['registry', true, true],
    ])
    pids = states.map((s) => s.pid as number)
    expect(pids.every(alive)).toBe(true)
  })

  it('up again changes nothing: the same processes keep running', async () => {
    const again = await runCli(['stack', 'up', '--dir', dir, '--no-provision'], ports)
    expect(again.code, again.stderr).toBe(0)
    expect((await status()).map((s) => s.pid)).toEqual(pids)
  })

  it('reports a port held by another process by service and port, without waiting', async () => {
    const other = mkdtempSync(join(tmpdir(), 'agent-party-chaos-busy-'))
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(26380, '127.0.0.1', resolve))
    try {
      const started = Date.now()
      const result = await runCli(['stack', 'up', '--dir', other, '--services', 'redis', '--no-provision'], {
        STACK_REDIS_PORT: '26380',
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/redis/)
      expect(result.stderr).toMatch(/26380/)
      expect(Date.now() - started).toBeLessThan(30_000)
    } finally {
      server.close()
      rmSync(other, { recursive: true, force: true })
    }
  })

  it('down stops exactly the processes it started, and leaves none of the stack running', async () => {
    const down = await runCli(['stack', 'down', '--dir', dir], ports)
    expect(down.code, down.stderr).toBe(0)
    expect(pids.filter(alive)).toEqual([])
    expect(processesOfStack()).toEqual([])
    const states = await status()
    expect(states.every((s) => !s.running && !s.ready)).toBe(true)
  })

  it('reset deletes the data and keeps the downloaded jars', async () => {
    const reset = await runCli(['stack', 'reset', '--dir', dir], ports)
    expect(reset.code, reset.stderr).toBe(0)
    expect(existsSync(join(dir, 'kafka', 'data'))).toBe(false)
    expect(existsSync(join(dir, 'lib'))).toBe(true)
  })
})

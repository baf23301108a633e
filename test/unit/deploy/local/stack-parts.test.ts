// The parts of the local stack that decide which process is ours, which port and which Java, tested
// without starting the services (the chaos test drives a whole stack).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { formatStackEnv, parseStackEnv } from '../../../../deploy/local/env-file.js'
import { StackError } from '../../../../deploy/local/errors.js'
import { findJava } from '../../../../deploy/local/java.js'
import { DEFAULT_PORTS, mergePorts, portsFromEnv } from '../../../../deploy/local/ports.js'
import { isAlive, isOurs, ourLivePid } from '../../../../deploy/local/process.js'

describe('ports', () => {
  it('take STACK_*_PORT variables over the defaults, and explicit options over both', () => {
    const fromEnv = portsFromEnv({ STACK_KAFKA_PORT: '19092', STACK_REDIS_PORT: '16379' })
    expect(fromEnv).toEqual({ kafka: 19092, redis: 16379 })
    expect(mergePorts(fromEnv, { redis: 26379 })).toEqual({ ...DEFAULT_PORTS, kafka: 19092, redis: 26379 })
  })

  it('refuse a bad port naming the variable and the fix', () => {
    const error = (() => {
      try {
        portsFromEnv({ STACK_NEO4J_BOLT_PORT: '70000' })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(StackError)
    expect((error as StackError).code).toBe('INVALID_PORT')
    expect((error as StackError).message).toMatch(/STACK_NEO4J_BOLT_PORT=70000 .*1\.\.65535/)
  })
})

describe('stack.env', () => {
  it('reads back what it writes, comments ignored', () => {
    const env = {
      KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9092',
      NEO4J_PASSWORD: '',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
    }
    const text = formatStackEnv(env)
    expect(text.startsWith('#')).toBe(true)
    expect(parseStackEnv(text)).toEqual(env)
  })

  it('refuses a value a shell would need quoted', () => {
    expect(() => formatStackEnv({ A: 'two words' })).toThrow(/not shell-safe/)
  })
})

describe('Java lookup', () => {
  it('says what it looked at and how to install a Java when none is new enough', () => {
    let error: unknown
    try {
      findJava(99)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StackError)
    expect((error as StackError).code).toBe('JAVA_MISSING')
    expect((error as StackError).message).toMatch(/Java 99\+ not found \(looked at: .*java on PATH/)
    expect((error as StackError).message).toMatch(/Install a Java 99\+ runtime/)
  })

  it('finds the Java 17 the services need on this machine', () => {
    expect(findJava(17).major).toBeGreaterThanOrEqual(17)
  })
})

describe('process ownership', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-parts-'))
  const children: ReturnType<typeof spawn>[] = []
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL')
  })

  it('counts a process as ours only when it runs in the service folder', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      cwd: dir,
      stdio: 'ignore',
    })
    children.push(child)
    await once(child, 'spawn')
    const pid = child.pid as number
    expect(isAlive(pid)).toBe(true)
    expect(isOurs(pid, dir)).toBe(true)
    expect(isOurs(pid, join(dir, 'elsewhere'))).toBe(false)
    // another process with the same pid file content but another folder is left alone
    expect(isOurs(process.pid, dir)).toBe(false)

    const pidFile = join(dir, 'svc.pid')
    writeFileSync(pidFile, String(pid))
    expect(await ourLivePid(pidFile, dir)).toBe(pid)
  })

  it('cleans a pid file whose process is gone', async () => {
    const child = spawn(process.execPath, ['-e', ''], { cwd: dir, stdio: 'ignore' })
    await once(child, 'exit')
    const pidFile = join(dir, 'stale.pid')
    writeFileSync(pidFile, String(child.pid))
    expect(await ourLivePid(pidFile, dir)).toBeUndefined()
    expect(existsSync(pidFile)).toBe(false)
  })
})

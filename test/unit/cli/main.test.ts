import type { Command } from 'commander'
import { describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../../cli/exit-codes.js'
import { buildProgram, run } from '../../../cli/main.js'
import { captureOutputPerTest } from '../../support/cli.js'

const io = captureOutputPerTest()

function commandPaths(cmd: Command, path: string[] = []): string[][] {
  return cmd.commands.flatMap((sub) => [[...path, sub.name()], ...commandPaths(sub, [...path, sub.name()])])
}

describe('agent-party', () => {
  it('prints help with the exit codes and exits 0', async () => {
    expect(await run(['--help'])).toBe(EXIT.OK)
    expect(io.out).toContain('Usage: agent-party')
    expect(io.out).toContain('Exit codes:')
    for (const code of Object.values(EXIT)) expect(io.out).toMatch(new RegExp(`^\\s+${code}\\s`, 'm'))
  })

  it('has --help on every command', async () => {
    const paths = commandPaths(buildProgram())
    expect(paths.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining([
        'stack',
        'stack up',
        'stack down',
        'stack status',
        'stack logs',
        'stack reset',
      ]),
    )
    for (const path of paths) {
      io.out = ''
      expect(await run([...path, '--help']), path.join(' ')).toBe(EXIT.OK)
      expect(io.out).toContain(`Usage: agent-party ${path.join(' ')}`)
    }
  })

  it('exits 2 on an unknown command or a bad argument, saying what is wrong', async () => {
    expect(await run(['launch'])).toBe(EXIT.USAGE)
    expect(io.err).toContain("unknown command 'launch'")
    io.err = ''
    expect(await run(['migrate', 'down', '--steps', 'two'])).toBe(EXIT.USAGE)
    expect(io.err).toContain('expected a whole number >= 1')
    io.err = ''
    expect(await run(['stack', 'logs', 'zookeeper'])).toBe(EXIT.USAGE)
    expect(io.err).toContain('expected one of kafka, neo4j, redis, s3, registry')
  })

  it('exits 3 on invalid configuration, naming each variable', async () => {
    vi.stubEnv('KAFKA_BOOTSTRAP_SERVERS', 'no-port')
    vi.stubEnv('LOG_LEVEL', 'chatty')
    expect(await run(['config', 'check'])).toBe(EXIT.CONFIG)
    expect(io.err).toContain('KAFKA_BOOTSTRAP_SERVERS')
    expect(io.err).toContain('LOG_LEVEL')
  })

  it('prints the configuration with secrets masked', async () => {
    vi.stubEnv('S3_SECRET_KEY', 'do-not-print')
    expect(await run(['config'])).toBe(EXIT.OK)
    expect(JSON.parse(io.out).s3.secretKey).toBe('[redacted]')
    expect(io.out).not.toContain('do-not-print')
  })
})

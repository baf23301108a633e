// Argument errors of `agent-party topics`, `schemas` and `run all`: each is refused with a message and
// its documented exit code before any service is contacted (the environment points at closed ports,
// so a command that got past its arguments would fail with exit 1 instead).
import { InvalidArgumentError } from 'commander'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { retentionMs, topicConfig } from '../../../cli/commands/topics.js'
import { EXIT } from '../../../cli/exit-codes.js'
import { run } from '../../../cli/main.js'
import { captureOutputPerTest } from '../../support/cli.js'

const io = captureOutputPerTest()

beforeEach(() => {
  vi.stubEnv('KAFKA_BOOTSTRAP_SERVERS', '127.0.0.1:1')
  vi.stubEnv('SCHEMA_REGISTRY_URL', 'http://127.0.0.1:1/apis/ccompat/v7')
})

describe('topics arguments', () => {
  it('parses retention and repeated configs', () => {
    expect(retentionMs('604800000')).toBe(604_800_000)
    expect(retentionMs('-1')).toBe(-1)
    expect(topicConfig('cleanup.policy=compact,delete', topicConfig('min.insync.replicas=2'))).toEqual({
      'min.insync.replicas': '2',
      'cleanup.policy': 'compact,delete',
    })
    expect(topicConfig('a=b=c')).toEqual({ a: 'b=c' })
    expect(() => retentionMs('-2')).toThrow(InvalidArgumentError)
    expect(() => retentionMs('7d')).toThrow(/whole number of milliseconds/)
    expect(() => topicConfig('retention.ms')).toThrow(/expected name=value/)
    expect(() => topicConfig('=1')).toThrow(/expected name=value/)
    expect(() => topicConfig('retention.ms=')).toThrow(/expected name=value/)
  })

  it.each([
    [['topics', 'create', 'x', '--partitions', 'many'], "'--partitions <n>' argument 'many' is invalid"],
    [['topics', 'create', 'x', '--partitions', '2.5'], 'expected a whole number >= 1'],
    [['topics', 'create', 'x', '--partitions', '0'], 'expected a whole number >= 1'],
    [['topics', 'create', '--retention-ms', '1.5'], 'expected a whole number of milliseconds'],
    [['topics', 'create', '--config', 'compact'], 'expected name=value'],
    [['topics', 'create', '--partitions'], "option '--partitions <n>' argument missing"],
    [['topics', 'describe', '--partitions', '3'], "unknown option '--partitions'"],
    [['topics', 'delete', 'x'], "unknown command 'delete'"],
    [['schemas', 'verify'], "unknown command 'verify'"],
    [['schemas', 'check', 'x'], 'too many arguments'],
    [['run', 'everything'], "unknown command 'everything'"],
    [['run', 'all', '--port', '1'], "unknown option '--port'"],
  ])('exits 2 on agent-party %j, saying what is wrong, with no stack trace', async (args, message) => {
    expect(await run(args)).toBe(EXIT.USAGE)
    expect(io.err).toContain(message)
    expect(io.err).not.toMatch(/^\s+at /m)
    expect(io.out).toBe('')
  })
})

describe('run all', () => {
  it('exits 3 when METRICS_PORT and API_PORT are the same port, before starting anything', async () => {
    vi.stubEnv('METRICS_PORT', '8123')
    vi.stubEnv('API_PORT', '8123')
    expect(await run(['run', 'all'])).toBe(EXIT.CONFIG)
    expect(io.err).toContain('METRICS_PORT: is API_PORT (8123)')
  })
})

// How the Redis sink classifies failures: the runner retries transient ones, dead-letters the record
// of a data failure, stops on a fatal one.
import { ReplyError } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { classifyRedisError, RedisSinkDataError } from '../../../../sinks/redis/classify.js'

const reply = (message: string) => new ReplyError(message)
const coded = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:6379`), { code })

describe('classifyRedisError', () => {
  it.each([
    ['refused', coded('ECONNREFUSED')],
    ['reset', coded('ECONNRESET')],
    ['timed out', coded('ETIMEDOUT')],
    ['closed', new Error('Connection is closed.')],
    ['offline', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['command timeout', new Error('Command timed out')],
    ['loading', reply('LOADING Redis is loading the dataset in memory')],
    ['busy', reply('BUSY Redis is busy running a script.')],
    ['readonly replica', reply("READONLY You can't write against a read only replica.")],
    ['tryagain', reply('TRYAGAIN Multiple keys request during rehashing of slot')],
    ['clusterdown', reply('CLUSTERDOWN The cluster is down')],
    ['out of memory', reply("OOM command not allowed when used memory > 'maxmemory'.")],
  ])('%s is transient', (_name, error) => {
    expect(classifyRedisError(error)).toBe('transient')
  })

  it.each([
    ['no auth', reply('NOAUTH Authentication required.')],
    ['wrong password', reply('WRONGPASS invalid username-password pair or user is disabled.')],
    ['no permission', reply("NOPERM this user has no permissions to run the 'evalsha' command")],
    [
      'old server',
      reply(
        "ERR user_script:5: Unknown Redis command called from script script: ..., unknown command 'PEXPIRETIME'",
      ),
    ],
  ])('%s is fatal', (_name, error) => {
    expect(classifyRedisError(error)).toBe('fatal')
  })

  it.each([
    [
      'wrong type',
      reply(
        'WRONGTYPE Operation against a key holding the wrong kind of value script: abc, on @user_script:60.',
      ),
    ],
    ['bad float', reply('ERR value is not a valid float script: abc, on @user_script:60.')],
    ['a record the sink cannot write', new RedisSinkDataError('agents: a tombstone without a key')],
  ])('%s is data', (_name, error) => {
    expect(classifyRedisError(error)).toBe('data')
  })
})

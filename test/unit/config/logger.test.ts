import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../config/config.js'
import { componentLogger, createRootLogger } from '../../../config/logger.js'

function capture() {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line)
        lines.push(JSON.parse(line))
      }
      done()
    },
  })
  return { lines, raw, destination }
}

describe('logging', () => {
  it('writes JSON with one component and a level name', () => {
    const { lines, raw, destination } = capture()
    const log = loadConfig({}).log
    const root = createRootLogger(log, { destination })
    componentLogger(root, log, 'kafka').info({ topic: 'agent_events' }, 'hello')
    expect(lines[0]).toMatchObject({ level: 'info', component: 'kafka', topic: 'agent_events', msg: 'hello' })
    expect(raw[0]?.match(/"component"/g)).toHaveLength(1)
    expect(typeof lines[0]?.time).toBe('string')
  })

  it('applies levels per component over the default level', () => {
    const { lines, destination } = capture()
    const log = loadConfig({ LOG_LEVEL: 'warn', LOG_LEVELS: 'kafka=debug,neo4j=error' }).log
    const root = createRootLogger(log, { destination })
    componentLogger(root, log, 'kafka').debug('kafka debug')
    componentLogger(root, log, 'neo4j').warn('neo4j warn')
    componentLogger(root, log, 'redis').info('redis info')
    componentLogger(root, log, 'redis').warn('redis warn')
    root.info('app info')
    expect(lines.map((l) => l.msg)).toEqual(['kafka debug', 'redis warn'])
  })

  it('masks secrets wherever they appear in a logged object', () => {
    const { lines, destination } = capture()
    const log = loadConfig({}).log
    const root = createRootLogger(log, { destination })
    const config = loadConfig({ NEO4J_PASSWORD: 'neo-secret', S3_SECRET_KEY: 's3-secret' })
    root.info({ config, headers: { authorization: 'Bearer abc' } }, 'started')
    const text = JSON.stringify(lines)
    expect(text).not.toContain('neo-secret')
    expect(text).not.toContain('s3-secret')
    expect(text).not.toContain('Bearer abc')
  })
})

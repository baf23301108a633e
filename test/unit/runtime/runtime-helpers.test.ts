// Pure pieces of the runtime: produce slices bounded in bytes, the client's nested errors read to the
// protocol error ids, and a state-directory lock left by a dead process whose pid was reused.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { errorText } from '../../../topology/runtime/commit-errors.js'
import { type OutgoingRecord, sendSlices } from '../../../topology/runtime/committer.js'
import { lockStateDirectory } from '../../../topology/runtime/state-directory.js'

const record = (bytes: number, topic = 't'): OutgoingRecord => ({
  topic,
  key: Buffer.alloc(4),
  value: Buffer.alloc(bytes),
})
const bytesOf = (records: OutgoingRecord[]) =>
  records.reduce((n, r) => n + 40 + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0)

describe('sendSlices', () => {
  it('keeps every record, in order, with at most 768 KiB of one topic in a slice', () => {
    const records = Array.from({ length: 5000 }, (_, i) => record(100 + (i % 400)))
    const slices = sendSlices(records)
    expect(slices.flat()).toEqual(records)
    expect(slices.length).toBeGreaterThan(1)
    for (const slice of slices) expect(bytesOf(slice)).toBeLessThanOrEqual(768 * 1024)
  })

  it('puts many topics in one request, each under its bound, and at most 16 MiB in all', () => {
    // 60 topics x 1,000 records of ~500 bytes: 29 MiB, 480 KiB per topic.
    const records = Array.from({ length: 60_000 }, (_, i) => record(460, `t${i % 60}`))
    const slices = sendSlices(records)
    expect(slices.flat()).toEqual(records)
    expect(slices.length).toBe(2)
    for (const slice of slices) {
      expect(bytesOf(slice)).toBeLessThanOrEqual(16 * 1024 * 1024)
      for (const topic of new Set(slice.map((r) => r.topic)))
        expect(bytesOf(slice.filter((r) => r.topic === topic))).toBeLessThanOrEqual(768 * 1024)
    }
  })

  it('sends a record larger than a slice on its own', () => {
    const slices = sendSlices([record(10), record(2 * 1024 * 1024), record(10)])
    expect(slices.map((s) => s.length)).toEqual([1, 1, 1])
  })
})

describe('errorText', () => {
  it('finds the protocol error id the client nests two levels down', () => {
    const error = Object.assign(new Error('listConsumerGroupOffsets failed 4 times.'), {
      errors: [
        Object.assign(new Error('Received response with error while executing API OffsetFetch(v9)'), {
          errors: [
            Object.assign(new Error('There are unstable offsets that need to be cleared.'), {
              apiId: 'UNSTABLE_OFFSET_COMMIT',
            }),
          ],
        }),
      ],
    })
    expect(errorText(error)).toMatch(/UNSTABLE_OFFSET_COMMIT/)
    expect(errorText(new Error('outer', { cause: { apiId: 'ILLEGAL_GENERATION' } }))).toMatch(
      /ILLEGAL_GENERATION/,
    )
  })
})

describe('lockStateDirectory', () => {
  it('takes over a lock whose pid now belongs to another process started later', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'))
    const appDir = join(dir, 'app')
    lockStateDirectory(dir, 'app', 'x').release()
    // A live pid (ours is refused as "this process"; use the parent) with a start time that is not its own.
    writeFileSync(join(appDir, '.lock'), `${process.ppid} 1`)
    const lock = lockStateDirectory(dir, 'app', 'x')
    expect(readFileSync(join(appDir, '.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid}\\b`))
    lock.release()
  })

  it('refuses while another live process holds it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'))
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      const { lockStateDirectory } = await import(${JSON.stringify(new URL('../../../topology/runtime/state-directory.ts', import.meta.url).pathname)})
      lockStateDirectory(${JSON.stringify(dir)}, 'app', 'x'); console.log('locked'); setTimeout(() => {}, 10000)`,
      ],
      {
        env: { ...process.env, NODE_OPTIONS: '--import tsx' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      await new Promise<void>((resolve) =>
        child.stdout?.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()),
      )
      expect(() => lockStateDirectory(dir, 'app', 'x')).toThrow(
        new RegExp(`STATE_DIR_LOCKED.*process ${child.pid}`),
      )
    } finally {
      child.kill('SIGKILL')
    }
  })
})

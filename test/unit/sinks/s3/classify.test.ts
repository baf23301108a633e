// Which archive failures are retried and which stop the sink.
import { describe, expect, it } from 'vitest'
import { ArchiveFormatError } from '../../../../sinks/s3/archive-format.js'
import { classifyArchiveError } from '../../../../sinks/s3/classify.js'
import { ManifestConflictError } from '../../../../sinks/s3/manifest.js'

const s3Error = (code: string) => Object.assign(new Error(code), { code })

describe('classifyArchiveError', () => {
  it('retries network failures, throttling, 5xx and manifest conflicts', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']) {
      expect(classifyArchiveError(s3Error(code))).toBe('transient')
    }
    for (const code of ['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout']) {
      expect(classifyArchiveError(s3Error(code))).toBe('transient')
    }
    expect(classifyArchiveError(new ManifestConflictError('t/0/manifest.json'))).toBe('transient')
  })

  it('stops on credentials, permissions, a missing bucket and an unreadable archive', () => {
    for (const code of ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'NoSuchBucket']) {
      expect(classifyArchiveError(s3Error(code))).toBe('fatal')
    }
    expect(classifyArchiveError(new ArchiveFormatError('bad manifest'))).toBe('fatal')
  })
})

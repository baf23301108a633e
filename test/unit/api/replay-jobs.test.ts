// The replay job lifecycle behind POST /admin/replay and GET /admin/replay/:id: the POST's answer waits
// for the replay to be under way (a refusal is the POST's error, and leaves no job), one replay at a
// time, progress visible while it runs, then the outcome or the error. The replay itself is the
// runner given here (ops/replay.ts in the API; tests of it run on the real stack).
import { describe, expect, it } from 'vitest'
import { ReplayAlreadyRunningError, ReplayJobs, type ReplayRunner } from '../../../api/replay-jobs.js'
import type { ReplayProgress, ReplayResult } from '../../../ops/replay.js'

const progress = (phase: ReplayProgress['phase'], done: number, total: number): ReplayProgress => ({
  phase,
  done,
  total,
  unit: 'events',
  elapsedMs: 1000,
  perSecond: done,
  etaMs: null,
})

function result(equal: boolean): ReplayResult {
  const table = (name: string, changed: number, cls: 'deterministic' | 'timing-dependent') => ({
    table: name,
    store: 'redis' as const,
    output: name,
    class: cls,
    reason: '',
    before: 10,
    after: 10,
    equal: 10 - changed,
    changed,
    missing: 0,
    added: 0,
    examples: [],
  })
  return {
    applicationId: 'app',
    inputTopics: ['agent_events'],
    events: 100,
    outputRecords: 250,
    eventsPerSecond: 50,
    phases: { snapshotBeforeMs: 1, resetMs: 2, processorMs: 3, sinksMs: 4, snapshotAfterMs: 5 },
    reset: {} as ReplayResult['reset'],
    before: null,
    after: null,
    comparison: {
      deterministicEqual: equal,
      deterministic: [table('redis:agents', equal ? 0 : 2, 'deterministic')],
      timingDependent: [table('redis:processingLatency', 3, 'timing-dependent')],
    },
  } as unknown as ReplayResult
}

/** A runner the test drives: report progress, then finish or fail. */
function controlled() {
  let report!: (p: ReplayProgress) => void
  let finish!: (r: ReplayResult) => void
  let fail!: (e: unknown) => void
  const runner: ReplayRunner = (_request, onProgress) => {
    report = onProgress
    return new Promise<ReplayResult>((resolve, reject) => {
      finish = resolve
      fail = reject
    })
  }
  return {
    runner,
    report: (p: ReplayProgress) => report(p),
    finish: (r: ReplayResult) => finish(r),
    fail: (e: unknown) => fail(e),
  }
}

describe('ReplayJobs', () => {
  it('answers once the replay is under way, shows its progress, then its outcome', async () => {
    const c = controlled()
    const finished: string[] = []
    const jobs = new ReplayJobs(c.runner, (job) => finished.push(job.state))
    const starting = jobs.start({ from: 'kafka', sinks: ['redis'] })
    c.report(progress('snapshot-before', 0, 0))
    const job = await starting
    expect(job).toMatchObject({
      state: 'running',
      request: { from: 'kafka', sinks: ['redis'] },
      outcome: null,
    })

    c.report(progress('processor', 40, 100))
    expect(jobs.get(job.id)?.progress).toMatchObject({ phase: 'processor', done: 40, total: 100 })

    c.finish(result(false))
    await expect.poll(() => jobs.get(job.id)?.state).toBe('done')
    expect(jobs.get(job.id)?.outcome).toEqual({
      events: 100,
      outputRecords: 250,
      eventsPerSecond: 50,
      phasesMs: { snapshotBeforeMs: 1, resetMs: 2, processorMs: 3, sinksMs: 4, snapshotAfterMs: 5 },
      deterministicEqual: false,
      differing: [{ table: 'redis:agents', changed: 2, missing: 0, added: 0 }],
      timingDependentDiffering: ['redis:processingLatency'],
    })
    expect(jobs.get(job.id)?.finishedAt).not.toBeNull()
    expect(finished).toEqual(['done'])
  })

  it('refuses a second replay while one runs, and takes one again once it ended', async () => {
    const c = controlled()
    const jobs = new ReplayJobs(c.runner)
    const first = jobs.start({ from: 'kafka' })
    c.report(progress('reset', 0, 0))
    const job = await first
    const second = await jobs.start({ from: 'archive' }).catch((e: unknown) => e)
    expect(second).toBeInstanceOf(ReplayAlreadyRunningError)
    expect((second as ReplayAlreadyRunningError).jobId).toBe(job.id)

    c.fail(new Error('the sinks stopped: Neo4j unreachable'))
    await expect.poll(() => jobs.get(job.id)?.state).toBe('failed')
    expect(jobs.get(job.id)?.error).toBe('the sinks stopped: Neo4j unreachable')

    const third = jobs.start({ from: 'kafka' })
    c.report(progress('snapshot-before', 0, 0))
    expect((await third).id).not.toBe(job.id)
  })

  it("rejects with the replay's own error when it fails before it began, and keeps no job", async () => {
    const refusal = new Error('the pipeline has live members')
    const jobs = new ReplayJobs(() => Promise.reject(refusal))
    await expect(jobs.start({ from: 'kafka' })).rejects.toBe(refusal)
    // Nothing runs: the next one is not refused as "already running".
    await expect(jobs.start({ from: 'kafka' })).rejects.toBe(refusal)
  })

  it('keeps the last ten finished jobs', async () => {
    const c = controlled()
    const jobs = new ReplayJobs(c.runner)
    const ids: string[] = []
    for (let i = 0; i < 12; i++) {
      const starting = jobs.start({ from: 'kafka' })
      c.report(progress('snapshot-before', 0, 0))
      ids.push((await starting).id)
      c.finish(result(true))
      await expect.poll(() => jobs.get(ids[i] as string)?.state).toBe('done')
    }
    expect(jobs.get(ids[0] as string)).toBeUndefined()
    expect(jobs.get(ids[11] as string)?.outcome?.deterministicEqual).toBe(true)
    expect(ids.filter((id) => jobs.get(id) !== undefined).length).toBeLessThanOrEqual(11)
  })
})

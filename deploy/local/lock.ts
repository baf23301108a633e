// Serialises stackUp/stackDown/stackReset on one stack dir, across processes (a lock file
// holding the owner's pid; a dead owner's lock is taken over) and within this process (a
// promise chain, since the lock file cannot tell two callers of the same pid apart).

import { closeSync, openSync, writeSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { StackError } from './errors.js'
import { isAlive } from './process.js'

const inProcess = new Map<string, Promise<unknown>>()

export async function withStackLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  timeoutMs = 600_000,
): Promise<T> {
  const previous = inProcess.get(lockFile) ?? Promise.resolve()
  const mine = previous.catch(() => {}).then(() => withFileLock(lockFile, fn, timeoutMs))
  inProcess.set(lockFile, mine)
  try {
    return await mine
  } finally {
    if (inProcess.get(lockFile) === mine) inProcess.delete(lockFile)
  }
}

async function withFileLock<T>(lockFile: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx')
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10)
    if (!Number.isInteger(owner) || owner === process.pid || !isAlive(owner)) {
      // Stale (owner died mid-operation) or unreadable: take it over.
      await rm(lockFile, { force: true })
      continue
    }
    if (Date.now() > deadline) {
      throw new StackError(
        'LOCKED',
        `Another stack command (pid ${owner}) is working on this stack dir; wait for it or stop it. Lock: ${lockFile}`,
      )
    }
    await sleep(250)
  }
  try {
    return await fn()
  } finally {
    await rm(lockFile, { force: true })
  }
}

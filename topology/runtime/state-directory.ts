// The per-instance state directory: it holds the instance's stable identity (Kafka Streams' process id)
// and a lock, so that two processes never run under one identity (they would fence each other's
// transactions and take each other's static group membership). The identity names the group instance
// id and the transactional id, which is what lets a restarted instance take over at once.
import { randomUUID } from 'node:crypto'
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { TopologyError } from '../errors.js'

const LOCK_FILE = '.lock'
const IDENTITY_FILE = 'instance.id'
const VALID_ID = /^[A-Za-z0-9._-]{1,200}$/
/** Directories this process holds: a second instance in the same process is refused too. */
const heldHere = new Set<string>()

export interface StateDirectoryLock {
  readonly directory: string
  readonly instanceId: string
  release(): void
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Locks `<stateDir>/<applicationId>` for this process and returns its instance id: `configured` when
 * given (a Kubernetes pod name), else the id kept in the directory (created on first start). Refuses
 * with STATE_DIR_LOCKED when a live process holds the lock; a lock left by a dead process is taken over.
 */
export function lockStateDirectory(
  stateDir: string,
  applicationId: string,
  configured?: string,
): StateDirectoryLock {
  const directory = join(stateDir, applicationId)
  mkdirSync(directory, { recursive: true })
  const lockPath = join(directory, LOCK_FILE)
  if (heldHere.has(directory)) {
    throw new TopologyError(
      'STATE_DIR_LOCKED',
      `state directory ${directory} is locked by process ${process.pid} (this one): two instances cannot ` +
        'share one state directory (they would fence each other). Give each instance its own stateDir.',
      { subject: directory },
    )
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number(readFileSync(lockPath, 'utf8').trim())
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
        throw new TopologyError(
          'STATE_DIR_LOCKED',
          `state directory ${directory} is locked by process ${holder}: two instances cannot share one ` +
            'state directory (they would fence each other). Give each instance its own stateDir.',
          { subject: directory },
        )
      }
      rmSync(lockPath, { force: true })
      if (attempt === 1) throw error
    }
  }
  let instanceId = configured
  if (instanceId === undefined) {
    const path = join(directory, IDENTITY_FILE)
    try {
      instanceId = readFileSync(path, 'utf8').trim()
    } catch {
      instanceId = randomUUID()
      writeFileSync(path, `${instanceId}\n`)
    }
  }
  if (!VALID_ID.test(instanceId)) {
    rmSync(lockPath, { force: true })
    throw new TopologyError(
      'INVALID_CONFIG',
      `instanceId '${instanceId}' must be 1-200 characters of letters, digits, '.', '_' or '-'`,
    )
  }
  heldHere.add(directory)
  let released = false
  return {
    directory,
    instanceId,
    release() {
      if (released) return
      released = true
      heldHere.delete(directory)
      try {
        if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) rmSync(lockPath, { force: true })
      } catch {
        // Already gone.
      }
    },
  }
}

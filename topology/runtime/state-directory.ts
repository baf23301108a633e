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

// A process's start time (Linux: field 22 of /proc/<pid>/stat), so that a lock left by a dead process
// whose pid was reused (PID 1 in a container on a persistent volume) is not taken for a live holder.
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function processAlive(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  return started === undefined || startTime(pid) === undefined || startTime(pid) === started
}

function lockContent(): string {
  const started = startTime(process.pid)
  return started === undefined ? String(process.pid) : `${process.pid} ${started}`
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
      writeSync(fd, lockContent())
      closeSync(fd)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const [pid, started] = readFileSync(lockPath, 'utf8').trim().split(' ')
      const holder = Number(pid)
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder, started)) {
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
        if (readFileSync(lockPath, 'utf8').trim() === lockContent()) rmSync(lockPath, { force: true })
      } catch {
        // Already gone.
      }
    },
  }
}

// Service processes: spawn detached with output to <stack>/logs/<svc>.log and a pid file, tell
// whether a pid is still *our* process, and stop it (SIGTERM, then SIGKILL after a timeout).
// Nothing here ever looks processes up or kills them by name: only pids from our pid files,
// and only after checking that the process's cwd is the service dir we started it in
// (a recycled pid belongs to some other program with another cwd).

import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

export interface SpawnSpec {
  command: string
  args: string[]
  cwd: string
  logFile: string
  pidFile: string
  env?: Record<string, string>
}

export interface SpawnedProcess {
  pid: number
  child: ChildProcess
  /** Log size before this start: the startup output of this run begins here. */
  logOffset: number
  /** Set once the process has exited (while we are still its parent). */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
}

const MAX_LOG_BYTES = 64 * 1024 * 1024

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Alive = signal 0 is accepted and the process is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM means it exists but belongs to someone else: alive, and certainly not ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return true // no /proc: trust kill(0)
  }
}

/** Ours = started by us for this service: its cwd is the service dir (each service has its own). */
export function isOurs(pid: number, serviceDir: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === serviceDir
  } catch {
    // cwd unreadable: fall back to the command line, which names files inside the service dir.
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(`${serviceDir}/`)
    } catch {
      return false
    }
  }
}

/** The live pid of our process for this service, or undefined; a stale pid file is removed. */
export async function ourLivePid(pidFile: string, serviceDir: string): Promise<number | undefined> {
  const pid = readPidFile(pidFile)
  if (pid === undefined) return undefined
  if (isAlive(pid) && isOurs(pid, serviceDir)) return pid
  await rm(pidFile, { force: true })
  return undefined
}

export function spawnService(spec: SpawnSpec): SpawnedProcess {
  rotateLog(spec.logFile)
  const logOffset = fileSize(spec.logFile)
  const fd = openSync(spec.logFile, 'a')
  try {
    writeFileSync(fd, `\n=== ${new Date().toISOString()} start: ${spec.command} ${spec.args.join(' ')}\n`)
    // detached: own process group and session, so the service outlives the CLI and a Ctrl-C in
    // the terminal that ran `stack up` does not reach it.
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...spec.env },
    })
    const spawned: SpawnedProcess = { pid: child.pid ?? -1, child, logOffset, exit: undefined }
    // Listen before anything can throw: an unheard 'error' event (ENOENT) would crash the CLI.
    child.on('error', () => {
      spawned.exit ??= { code: null, signal: null }
    })
    child.on('exit', (code, signal) => {
      spawned.exit = { code, signal }
    })
    if (child.pid === undefined) {
      throw new Error(`could not spawn ${spec.command} (not found or not executable)`)
    }
    child.unref()
    writeFileSync(spec.pidFile, `${child.pid}\n`)
    return spawned
  } finally {
    closeSync(fd)
  }
}

/** SIGTERM, wait up to timeoutMs, then SIGKILL. Resolves once the pid is gone. */
export async function stopPid(pid: number, timeoutMs: number): Promise<'terminated' | 'killed'> {
  if (!signal(pid, 'SIGTERM')) return 'terminated'
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated'
    await sleep(100)
  }
  signal(pid, 'SIGKILL')
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100)
  return 'killed'
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig)
    return true
  } catch {
    return false
  }
}

export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

/** Last `lines` lines of a file, optionally only of the part written after byte `fromOffset`. */
export async function tailFile(file: string, lines: number, fromOffset = 0): Promise<string> {
  let buf: Buffer
  try {
    buf = await readFile(file)
  } catch {
    return ''
  }
  const text = buf.subarray(Math.min(fromOffset, buf.length)).toString('utf8')
  const all = text.split('\n')
  if (all.at(-1) === '') all.pop()
  return all.slice(-lines).join('\n')
}

function fileSize(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

function rotateLog(file: string): void {
  if (fileSize(file) > MAX_LOG_BYTES) renameSync(file, `${file}.1`)
}

// Starting one service and waiting until it really answers: port check, prepare (downloads,
// config), spawn, then probe until ready, failing fast with the log tail if the process exits.

import { rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { StackError } from './errors.js'
import { describeListener, portInUse } from './net.js'
import { PORT_ENV_VARS } from './ports.js'
import { isAlive, type SpawnedProcess, spawnService, stopPid, tailFile } from './process.js'
import type { ServiceContext, ServiceDefinition } from './service.js'

const LOG_TAIL_LINES = 20
const PROBE_INTERVAL_MS = 250

/** Throws PORT_IN_USE naming the service, port and (when visible) the process holding it. */
export async function assertPortsFree(svc: ServiceDefinition, ctx: ServiceContext): Promise<void> {
  for (const key of svc.portKeys) {
    const port = ctx.ports[key]
    if (await portInUse(port)) {
      const holder = describeListener(port)
      throw new StackError(
        'PORT_IN_USE',
        `${svc.name}: port ${port} (${key}) is already in use${holder ? ` by ${holder}` : ''}, and not by this stack. ` +
          `Stop that process, or choose another port (opts.ports.${key} / env ${PORT_ENV_VARS[key]}).`,
        { service: svc.name },
      )
    }
  }
}

export async function startService(svc: ServiceDefinition, ctx: ServiceContext): Promise<number> {
  const t0 = Date.now()
  await assertPortsFree(svc, ctx)
  const launch = await svc.prepare(ctx)
  // Prepare may take minutes (downloads, apt): check again right before binding.
  await assertPortsFree(svc, ctx)
  const { layout } = ctx
  let spawned: SpawnedProcess
  try {
    spawned = spawnService({
      command: launch.command,
      args: launch.args,
      cwd: layout.serviceDir(svc.name),
      logFile: layout.logFile(svc.name),
      pidFile: layout.pidFile(svc.name),
      ...(launch.env ? { env: launch.env } : {}),
    })
  } catch (err) {
    throw new StackError('START_FAILED', `${svc.name}: ${(err as Error).message}`, {
      service: svc.name,
      cause: err,
    })
  }
  ctx.log(`${svc.name}: started pid ${spawned.pid}, waiting for it to be ready...`)
  const tSpawn = Date.now()
  await waitReady(svc, ctx, spawned.pid, spawned)
  const now = Date.now()
  ctx.log(
    `${svc.name}: ready on port ${ctx.ports[svc.portKeys[0]]} in ${((now - tSpawn) / 1000).toFixed(1)} s ` +
      `after spawn (${((now - t0) / 1000).toFixed(1)} s with preparation)`,
  )
  return spawned.pid
}

/**
 * Probes until ready. `spawned` is given when we just started it (exit status and the log
 * offset of this start are known); without it (a process from an earlier, interrupted up) only
 * liveness is checked.
 */
export async function waitReady(
  svc: ServiceDefinition,
  ctx: ServiceContext,
  pid: number,
  spawned?: SpawnedProcess,
): Promise<void> {
  const { layout } = ctx
  const deadline = Date.now() + svc.startTimeoutMs
  for (;;) {
    if (spawned?.exit !== undefined || !isAlive(pid)) {
      await rm(layout.pidFile(svc.name), { force: true })
      const how = spawned?.exit
        ? spawned.exit.signal
          ? `was killed by ${spawned.exit.signal}`
          : `exited with code ${spawned.exit.code}`
        : 'exited'
      const tail = (await tailFile(layout.logFile(svc.name), LOG_TAIL_LINES, spawned?.logOffset)).trim()
      throw new StackError(
        'EXITED',
        `${svc.name}: process ${pid} ${how} during startup. Last lines of ${layout.logFile(svc.name)}:\n${tail}`,
        { service: svc.name },
      )
    }
    if (await svc.probe(ctx.ports)) return
    if (Date.now() > deadline) break
    await sleep(PROBE_INTERVAL_MS)
  }
  // Not ready in time: stop it, so the next up starts clean rather than finding a half-started one.
  await stopPid(pid, svc.stopTimeoutMs)
  await rm(layout.pidFile(svc.name), { force: true })
  const tail = (await tailFile(layout.logFile(svc.name), LOG_TAIL_LINES, spawned?.logOffset)).trim()
  throw new StackError(
    'START_TIMEOUT',
    `${svc.name}: not ready after ${svc.startTimeoutMs / 1000} s (stopped it). The machine may be overloaded; ` +
      `see ${layout.logFile(svc.name)}. Last lines:\n${tail}`,
    { service: svc.name },
  )
}

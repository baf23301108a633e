// Small network helpers for the stack: is a port free, who holds it, and a one-shot raw TCP
// exchange used by readiness probes (Redis PING, Bolt handshake) without pulling in clients.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import net from 'node:net'

/** True when something already listens on 127.0.0.1:port (we cannot bind it). */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES')
    })
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(false))
    })
  })
}

/** Best effort: pid and command of the process listening on a TCP port (Linux /proc only). */
export function describeListener(port: number): string | undefined {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      const local = cols[1]
      if (local === undefined || cols[3] !== '0A') continue // 0A = LISTEN
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && cols[9])
        inodes.add(cols[9])
    }
  }
  if (inodes.size === 0) return undefined
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  } catch {
    return undefined
  }
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      let target: string
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        continue
      }
      const m = /^socket:\[(\d+)\]$/.exec(target)
      if (m?.[1] && inodes.has(m[1])) {
        let cmd = ''
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
            .replace(/[\0\s]+/g, ' ')
            .trim()
        } catch {}
        return `pid ${pid}${cmd ? ` (${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd})` : ''}`
      }
    }
  }
  return undefined
}

/**
 * Connect, send `payload`, and feed the bytes received to `decide` until it returns a value
 * other than undefined. Any error or the timeout resolves to undefined: probes never throw.
 */
export function tcpExchange<T>(
  port: number,
  payload: Buffer,
  decide: (received: Buffer) => T | undefined,
  timeoutMs = 1000,
  host = '127.0.0.1',
): Promise<T | undefined> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0)
    let settled = false
    const socket = net.connect({ port, host })
    const finish = (value: T | undefined): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(value)
    }
    const timer = setTimeout(() => finish(undefined), timeoutMs)
    socket.once('connect', () => socket.write(payload))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const value = decide(received)
      if (value !== undefined) finish(value)
    })
    socket.once('error', () => finish(undefined))
    socket.once('close', () => finish(decide(received)))
  })
}

/** GET a URL; true on a 2xx answer within the timeout. */
export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}

/** The promise's value, or undefined if it rejects or takes longer than timeoutMs. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs)
  })
  try {
    return await Promise.race([promise.catch(() => undefined), timeout])
  } finally {
    clearTimeout(timer)
  }
}

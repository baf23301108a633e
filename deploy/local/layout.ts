// Where everything of a local stack lives on disk. One folder holds all state (git-ignored
// `.stack/` at the repo root unless AGENT_PARTY_STACK_DIR or an explicit dir says otherwise):
//   lib/<svc>/        downloaded jars (kept by stackReset: re-downloading costs minutes)
//   <svc>/            the service's working dir: generated config + data (deleted by stackReset)
//   logs/<svc>.log    stdout+stderr of the service process
//   run/<svc>.pid     pid of the process we started
//   ports.json        ports the stack was started with, so status/down/env agree with up
//   stack.env         KEY=value connection settings for tests and shells

import { existsSync, mkdirSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServiceName } from './types.js'

export interface StackLayout {
  readonly root: string
  readonly runDir: string
  readonly logDir: string
  readonly libRoot: string
  readonly portsFile: string
  readonly envFile: string
  readonly lockFile: string
  /** Working dir of the service process; its cwd also proves a pid is ours (see process.ts). */
  serviceDir(name: ServiceName): string
  libDir(name: ServiceName): string
  pidFile(name: ServiceName): string
  logFile(name: ServiceName): string
}

/** The repo root is found from this file's location so the CLI works from any cwd (src or dist). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    const parent = path.dirname(dir)
    if (parent === dir) return process.cwd()
    dir = parent
  }
}

export function resolveStackDir(dir?: string): string {
  const chosen = dir ?? process.env.AGENT_PARTY_STACK_DIR ?? path.join(repoRoot(), '.stack')
  const abs = path.resolve(chosen)
  mkdirSync(abs, { recursive: true })
  // /proc/<pid>/cwd is reported with symlinks resolved; compare like with like.
  return realpathSync(abs)
}

export function stackLayout(dir?: string): StackLayout {
  const root = resolveStackDir(dir)
  const runDir = path.join(root, 'run')
  const logDir = path.join(root, 'logs')
  const libRoot = path.join(root, 'lib')
  return {
    root,
    runDir,
    logDir,
    libRoot,
    portsFile: path.join(root, 'ports.json'),
    envFile: path.join(root, 'stack.env'),
    lockFile: path.join(runDir, 'stack.lock'),
    serviceDir: (name) => path.join(root, name),
    libDir: (name) => path.join(libRoot, name),
    pidFile: (name) => path.join(runDir, `${name}.pid`),
    logFile: (name) => path.join(logDir, `${name}.log`),
  }
}

/**
 * Non-TypeScript files kept beside this code (poms, the Neo4j launcher). tsc does not copy them
 * to dist/, so they are always read from the source tree under the repo root.
 */
export function assetPath(...parts: string[]): string {
  return path.join(repoRoot(), 'deploy', 'local', ...parts)
}

// <stack>/stack.env: one KEY=value per line, no quotes, so both `set -a; . .stack/stack.env`
// and parseStackEnv read it. Values are checked to be safe unquoted in a POSIX shell.

import { readFileSync, writeFileSync } from 'node:fs'
import type { StackEnvironment } from './types.js'

const SHELL_SAFE = /^[A-Za-z0-9_./:@%+,=-]*$/

export function formatStackEnv(env: StackEnvironment): string {
  const lines = [
    '# Written by agent-party stack up (deploy/local/stack.ts). Do not edit: rewritten on every up.',
  ]
  for (const [key, value] of Object.entries(env)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new Error(`invalid env key ${key}`)
    if (!SHELL_SAFE.test(value)) throw new Error(`env value of ${key} is not shell-safe: ${value}`)
    lines.push(`${key}=${value}`)
  }
  return `${lines.join('\n')}\n`
}

export function parseStackEnv(text: string): StackEnvironment {
  const env: StackEnvironment = {}
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const eq = trimmed.indexOf('=')
    if (eq > 0) env[trimmed.slice(0, eq)] = trimmed.slice(eq + 1)
  }
  return env
}

export function writeStackEnv(file: string, env: StackEnvironment): void {
  writeFileSync(file, formatStackEnv(env))
}

export function readStackEnv(file: string): StackEnvironment | undefined {
  try {
    return parseStackEnv(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}

export function isShellSafe(value: string): boolean {
  return SHELL_SAFE.test(value)
}

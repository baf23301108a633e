// Downloads jars from Maven Central with the local `mvn` (copy-dependencies / copy), only when
// the target folder in the stack dir does not hold them yet. ~/.m2 is Maven's own cache and is
// shared by all stacks. Results land in a temp folder renamed into place at the end, so an
// interrupted download is never mistaken for a complete one.

import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { StackError } from './errors.js'
import { fileHash } from './jvm.js'

export interface MavenFetch {
  /** For messages. */
  what: string
  /** Final folder, e.g. <stack>/lib/kafka. */
  targetDir: string
  /** Identifies the content (coordinates or pom hash): a different key means re-download. */
  key: string
  /** mvn goal and properties; `-DoutputDirectory=<tmp>` is appended. */
  args: (outputDir: string) => string[]
  /** cwd for mvn (the pom's folder for copy-dependencies). */
  cwd?: string
  /** Post-processing in the temp folder before it is moved into place (e.g. unpack). */
  finish?: (outputDir: string) => Promise<void>
  log?: (line: string) => void
}

const MARKER = '.fetched'

/**
 * Maven 3.8 has no lock on its local repository. The first mvn of a run resolves the
 * maven-dependency-plugin and its many dependencies into ~/.m2; running that alone first and
 * only then the other downloads in parallel keeps concurrent writers off the same plugin files.
 */
let firstRun: Promise<void> | undefined

export function isFetched(targetDir: string, key: string): boolean {
  try {
    return readFileSync(path.join(targetDir, MARKER), 'utf8') === key
  } catch {
    return false
  }
}

export async function mavenFetch(spec: MavenFetch): Promise<void> {
  if (isFetched(spec.targetDir, spec.key)) return
  const mvn = findMaven()
  let release: (() => void) | undefined
  if (firstRun === undefined) {
    firstRun = new Promise<void>((resolve) => {
      release = resolve
    })
  } else {
    await firstRun
  }
  try {
    // Another caller in this process may have fetched it while we waited.
    if (isFetched(spec.targetDir, spec.key)) return
    const started = Date.now()
    spec.log?.(`downloading ${spec.what} with Maven...`)
    const tmp = `${spec.targetDir}.tmp-${process.pid}`
    await rm(tmp, { recursive: true, force: true })
    await mkdir(tmp, { recursive: true })
    // -U: Maven caches a failed lookup in ~/.m2 and would not retry it for a day otherwise.
    try {
      await runMaven(mvn, ['-q', '-B', '-U', ...spec.args(tmp), `-DoutputDirectory=${tmp}`], spec)
    } catch (err) {
      await rm(tmp, { recursive: true, force: true })
      throw err
    }
    await spec.finish?.(tmp)
    await writeFile(path.join(tmp, MARKER), spec.key)
    await rm(spec.targetDir, { recursive: true, force: true })
    await rename(tmp, spec.targetDir)
    spec.log?.(`downloaded ${spec.what} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  } finally {
    release?.()
  }
}

function findMaven(): string {
  const fromHome = process.env.MAVEN_HOME ? path.join(process.env.MAVEN_HOME, 'bin', 'mvn') : undefined
  if (fromHome && existsSync(fromHome)) return fromHome
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'mvn'))) return path.join(dir, 'mvn')
  }
  throw new StackError(
    'MAVEN_MISSING',
    'Maven (mvn) not found; it is needed once to download the service jars from Maven Central. ' +
      'Install it with `apt-get install maven` (Debian/Ubuntu), or set MAVEN_HOME.',
  )
}

function runMaven(mvn: string, args: string[], spec: MavenFetch): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      mvn,
      args,
      { cwd: spec.cwd ?? path.dirname(spec.targetDir), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve()
        const tail = `${stdout}\n${stderr}`
          // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
          .replace(/\u001b\[[0-9;]*m/g, '')
          .trim()
          .split('\n')
          .slice(-25)
          .join('\n')
        reject(
          new StackError(
            'MAVEN_FAILED',
            `Downloading ${spec.what} failed (mvn ${args.join(' ')}). Check that Maven Central is ` +
              `reachable (proxy settings in ~/.m2/settings.xml) and retry.\n${tail}`,
            { cause: err },
          ),
        )
      },
    )
  })
}

/** The runtime classpath of a pom kept in the repo (deploy/local/<svc>/pom.xml), copied to `targetDir`. */
export function fetchPomDependencies(
  what: string,
  pom: string,
  targetDir: string,
  log?: (line: string) => void,
) {
  return mavenFetch({
    what,
    targetDir,
    key: fileHash(pom),
    cwd: path.dirname(pom),
    args: () => ['dependency:copy-dependencies', '-DincludeScope=runtime', '-f', pom],
    ...(log ? { log } : {}),
  })
}

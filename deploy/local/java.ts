// Finds the Java runtimes the stack needs: Java 17+ for Kafka, Neo4j and s3proxy, Java 21+ for
// Apicurio Registry (Quarkus 3 classes), and a javac to compile the Neo4j launcher once.
// Looked up in: REGISTRY_JAVA_HOME (registry only), JAVA_HOME, `java` on PATH, /usr/lib/jvm/*.

import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { StackError } from './errors.js'

export interface JavaRuntime {
  /** The java executable. */
  java: string
  /** JAVA_HOME of that executable, when known (to find javac beside it). */
  home: string | undefined
  major: number
}

const JVM_ROOT = '/usr/lib/jvm'
const cache = new Map<number, JavaRuntime>()

/** Major version from a `release` file (fast) or `java -version` output ("17.0.15", "1.8.0_x"). */
function majorOf(versionText: string): number | undefined {
  const m =
    /version "?(\d+)(?:\.(\d+))?/.exec(versionText) ?? /JAVA_VERSION="(\d+)(?:\.(\d+))?/.exec(versionText)
  if (!m?.[1]) return undefined
  const first = Number(m[1])
  return first === 1 && m[2] ? Number(m[2]) : first
}

function probeHome(home: string): JavaRuntime | undefined {
  const java = path.join(home, 'bin', 'java')
  if (!existsSync(java)) return undefined
  try {
    const major = majorOf(readFileSync(path.join(home, 'release'), 'utf8'))
    if (major !== undefined) return { java, home, major }
  } catch {}
  return probeExecutable(java, home)
}

function probeExecutable(java: string, home: string | undefined): JavaRuntime | undefined {
  // `java -version` prints to stderr.
  const res = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 10_000 })
  const major = majorOf(`${res.stderr ?? ''}${res.stdout ?? ''}`)
  return major === undefined ? undefined : { java, home, major }
}

function javaOnPath(): JavaRuntime | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'java')
    if (!dir || !existsSync(candidate)) continue
    const r = probeExecutable(candidate, undefined)
    if (!r) continue
    // PATH usually holds /usr/bin/java -> alternatives -> <home>/bin/java; javac lives beside it.
    try {
      return { ...r, home: path.dirname(path.dirname(realpathSync(candidate))) }
    } catch {
      return r
    }
  }
  return undefined
}

function jvmDirs(): string[] {
  try {
    return readdirSync(JVM_ROOT, { withFileTypes: true })
      .filter((d) => d.isDirectory() || d.isSymbolicLink())
      .map((d) => path.join(JVM_ROOT, d.name))
  } catch {
    return []
  }
}

/** The first Java >= minMajor; for the registry, REGISTRY_JAVA_HOME is tried first. */
export function findJava(minMajor: number, opts: { envVar?: string } = {}): JavaRuntime {
  const cached = cache.get(minMajor)
  if (cached) return cached
  const sources: [string, () => JavaRuntime | undefined][] = []
  for (const v of [opts.envVar, 'JAVA_HOME']) {
    const home = v ? process.env[v] : undefined
    if (v && home) sources.push([`${v}=${home}`, () => probeHome(home)])
  }
  sources.push(['java on PATH', javaOnPath])
  sources.push([
    `${JVM_ROOT}/*`,
    // Newest first, so a Java 25 beats a Java 21 when both are there.
    () =>
      jvmDirs()
        .map((d) => probeHome(d))
        .filter((r): r is JavaRuntime => r !== undefined && r.major >= minMajor)
        .sort((a, b) => b.major - a.major)[0],
  ])
  const tried: string[] = []
  for (const [label, source] of sources) {
    const r = source()
    tried.push(r ? `${label} (Java ${r.major})` : label)
    if (r && r.major >= minMajor) {
      cache.set(minMajor, r)
      return r
    }
  }
  const hint =
    minMajor >= 21
      ? `Install a Java ${minMajor}+ runtime (e.g. a Temurin ${minMajor}+ under ${JVM_ROOT}, or \`apt-get install openjdk-${minMajor}-jre-headless\` where your distribution has it) and/or point ${opts.envVar ?? 'JAVA_HOME'} at it.`
      : `Install it with \`apt-get install openjdk-${minMajor}-jdk-headless maven\` (Debian/Ubuntu) or set JAVA_HOME to a JDK ${minMajor}+.`
  throw new StackError(
    'JAVA_MISSING',
    `Java ${minMajor}+ not found (looked at: ${tried.join(', ')}). ${hint}`,
  )
}

/**
 * A javac that can produce classes for the runtime's Java version: the one beside that runtime first, else
 * any newer JDK (compiled with --release). A JRE-only machine gets a JDK_MISSING error.
 */
export function findJavac(runtime: JavaRuntime): { javac: string; release: number } {
  const homes = [runtime.home, ...jvmDirs()].filter((h): h is string => h !== undefined)
  for (const home of homes) {
    const javac = path.join(home, 'bin', 'javac')
    if (!existsSync(javac)) continue
    const r = probeHome(home)
    if (r && r.major >= runtime.major) return { javac, release: runtime.major }
  }
  throw new StackError(
    'JDK_MISSING',
    `No javac for Java ${runtime.major}+ found (needed once to compile the Neo4j launcher). ` +
      'Install a JDK, e.g. `apt-get install openjdk-17-jdk-headless`, or set JAVA_HOME to a JDK.',
  )
}

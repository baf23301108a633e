// Producing with Debian's kcat (librdkafka), as a producer outside the project would: records are
// written to an input file, `<key><KEY_DELIMITER><value><MESSAGE_DELIMITER>` each, and kcat sends
// the file with `-l`. The delimiters are byte strings that UTF-8 keys never contain (0xfe and 0xff
// are not UTF-8) and that the encoded values are checked not to contain. kcat's default partitioner
// (consistent_random, CRC32) does not place keys as Java does: `-X topic.partitioner=murmur2_random`
// does (murmur2, positive, modulo the partition count).
import { execFile, execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

export const KEY_DELIMITER = Buffer.from([0xfe, 0xff, 0xfe, 0xff])
export const MESSAGE_DELIMITER = Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6])

/** A delimiter as kcat's -K / -D options spell it: `\xNN` per byte. */
export function kcatDelimiter(bytes: Buffer): string {
  return [...bytes].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')
}

/** The kcat version line; throws, naming the Debian package, when kcat is not installed. */
export function requireKcat(): string {
  try {
    return execFileSync('kcat', ['-V'], { encoding: 'utf8' }).split('\n')[0] ?? ''
  } catch (cause) {
    throw new Error(
      'kcat is not installed (or not on PATH): the interoperability test needs it. ' +
        'Install the Debian package: apt-get install -y kcat',
      { cause },
    )
  }
}

export interface KcatRecord {
  key: Buffer
  value: Buffer
}

/** The kcat input file of these records; throws when a key or value contains a delimiter. */
export function kcatInput(records: readonly KcatRecord[]): Buffer {
  const parts: Buffer[] = []
  for (const [i, { key, value }] of records.entries()) {
    for (const [what, bytes] of [
      ['key', key],
      ['value', value],
    ] as const) {
      if (bytes.includes(KEY_DELIMITER) || bytes.includes(MESSAGE_DELIMITER)) {
        throw new Error(`record ${i}: its ${what} contains a kcat delimiter; choose other delimiters`)
      }
    }
    parts.push(key, KEY_DELIMITER, value, MESSAGE_DELIMITER)
  }
  return Buffer.concat(parts)
}

export interface KcatProduceOptions {
  brokers: string[]
  topic: string
  records: readonly KcatRecord[]
  /** Folder for the input file. */
  dir: string
  /** librdkafka's partitioner; murmur2_random (Java's placement) unless told. */
  partitioner?: 'murmur2_random' | 'default'
}

/** The kcat arguments that produce `file` to `topic`, as schemas/README.md documents them. */
export function kcatProduceArgs(
  brokers: string[],
  topic: string,
  file: string,
  partitioner: 'murmur2_random' | 'default' = 'murmur2_random',
): string[] {
  return [
    '-P',
    '-b',
    brokers.join(','),
    '-t',
    topic,
    '-K',
    kcatDelimiter(KEY_DELIMITER),
    '-D',
    kcatDelimiter(MESSAGE_DELIMITER),
    ...(partitioner === 'murmur2_random' ? ['-X', 'topic.partitioner=murmur2_random'] : []),
    '-m',
    '30',
    '-l',
    file,
  ]
}

/** Writes the records to a kcat input file and has kcat produce it; rejects on a kcat failure. */
export async function kcatProduce(options: KcatProduceOptions): Promise<void> {
  const file = join(options.dir, `${options.topic}.kcat`)
  writeFileSync(file, kcatInput(options.records))
  const args = kcatProduceArgs(options.brokers, options.topic, file, options.partitioner)
  try {
    await promisify(execFile)('kcat', args, { timeout: 120_000 })
  } catch (cause) {
    const { stderr } = cause as { stderr?: string }
    throw new Error(`kcat ${args.join(' ')} failed: ${stderr ?? (cause as Error).message}`, { cause })
  }
}

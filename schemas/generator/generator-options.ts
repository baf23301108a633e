// The generator's options: their schema, their defaults and the one validator, so that a bad value
// fails before anything is generated, with a message naming the option.
import { z } from 'zod'
import { SchemaError } from '../errors.js'

const share = z.number().min(0).max(1)
const positiveInt = z.number().int().positive()

export const generatorOptionsSchema = z
  .object({
    /** Same seed (and options), same events, byte for byte. */
    seed: z.union([z.number().int(), z.string().min(1)]).default(1),
    /** Records to write, duplicates included. Default 1000 when neither count nor durationMs is given. */
    count: positiveInt.optional(),
    /** Event time to cover, in ms: count = durationMs * rate / 1000 (whichever of the two is smaller). */
    durationMs: positiveInt.optional(),
    /** Events per second of event time; when given, writes to Kafka are also paced to it. Default 1000, unpaced. */
    rate: z.number().positive().optional(),
    /** Event time of the first event, epoch ms. Default: now (the only wall-clock read). */
    baseTime: z.number().int().nonnegative().optional(),
    outOfOrderShare: share.default(0),
    maxOutOfOrderMs: positiveInt.default(5000),
    lateShare: share.default(0),
    lateByMs: positiveInt.default(300_000),
    duplicateShare: share.default(0),
    minAgents: z.number().int().min(2).default(8),
    maxAgents: positiveInt.default(200),
    formationFailureShare: share.default(0.08),
    taskFailureShare: z.number().min(0).max(0.6).default(0.1),
  })
  .strict()
  .refine((o) => o.outOfOrderShare + o.lateShare <= 1, {
    message: 'outOfOrderShare + lateShare must be at most 1',
    path: ['lateShare'],
  })
  .refine((o) => o.minAgents <= o.maxAgents, { message: 'must be at least minAgents', path: ['maxAgents'] })

export type GeneratorOptions = z.input<typeof generatorOptionsSchema>

export interface ResolvedGeneratorOptions
  extends Omit<z.output<typeof generatorOptionsSchema>, 'count' | 'rate' | 'baseTime'> {
  count: number
  rate: number
  /** Whether `rate` was given: writers pace wall-clock time to it. */
  paced: boolean
  baseTime: number
}

export const DEFAULT_COUNT = 1000
export const DEFAULT_RATE = 1000

export function resolveGeneratorOptions(
  input: GeneratorOptions,
  now: () => number = Date.now,
): ResolvedGeneratorOptions {
  const parsed = generatorOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`)
    throw new SchemaError('INVALID_OPTIONS', `invalid generator options: ${problems.join('; ')}`)
  }
  const { count, durationMs, rate, baseTime, ...rest } = parsed.data
  const effectiveRate = rate ?? DEFAULT_RATE
  const byDuration =
    durationMs === undefined ? undefined : Math.max(1, Math.floor((durationMs * effectiveRate) / 1000))
  const limits = [count, byDuration].filter((n): n is number => n !== undefined)
  return {
    ...rest,
    durationMs,
    count: limits.length > 0 ? Math.min(...limits) : DEFAULT_COUNT,
    rate: effectiveRate,
    paced: rate !== undefined,
    baseTime: baseTime ?? now(),
  }
}

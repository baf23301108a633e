// Logging for every layer: one pino root writing JSON to stdout, children per component
// (app, kafka, neo4j, redis, s3, registry, stack, ...) whose level can be set one by one
// (LOG_LEVELS=kafka=debug), as the operations guide's log configuration does per logger.
import { type Logger, pino } from 'pino'
import type { Config } from './config.js'
import type { LogLevel } from './env.js'

export type { Logger }

/** Paths pino masks wherever they appear in a log object, so that a careless `log.info({ config })` leaks nothing. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  // config.kafka.sasl.password under a key: log.info({ config })
  '*.*.*.password',
  'clientSecret',
  '*.clientSecret',
  '*.*.clientSecret',
  '*.*.*.clientSecret',
  // The private key of Kafka's mutual TLS (config.kafka.tls.key); `key` alone is a record's key.
  'tls.key',
  '*.tls.key',
  '*.*.tls.key',
  // The Redis URL carries the ACL user's password.
  'redis.url',
  '*.redis.url',
  'secretKey',
  '*.secretKey',
  '*.*.secretKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'token',
  '*.token',
]

export interface LoggerOptions {
  destination?: pino.DestinationStream
}

export function createRootLogger(log: Config['log'], options: LoggerOptions = {}): Logger {
  // The root must be as verbose as its most verbose component, or pino drops the child's lines.
  const levels = [log.level, ...Object.values(log.components)]
  const root = pino(
    {
      level: mostVerbose(levels),
      base: { service: 'agent-party' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  )
  const app = root.child({ component: 'app' }, { level: log.level })
  bases.set(app, root)
  return app
}

// The pino logger under each root: component loggers are its children, not the app logger's, so that
// a line carries one `component` key (pino repeats a binding a child sets again).
const bases = new WeakMap<Logger, Logger>()

export function componentLogger(root: Logger, log: Config['log'], component: string): Logger {
  return (bases.get(root) ?? root).child({ component }, { level: log.components[component] ?? log.level })
}

const order: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

function mostVerbose(levels: LogLevel[]): LogLevel {
  return levels.reduce((a, b) => (order.indexOf(a) <= order.indexOf(b) ? a : b))
}

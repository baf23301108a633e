// `agent-party schemas register|check`: the project's Avro schemas in the Schema Registry. The work is
// in ops/schemas.ts; this file parses and prints.
import type { Command } from 'commander'
import { loadConfig } from '../../config/config.js'
import {
  checkProjectSchemas,
  registerProjectSchemas,
  SchemaMismatchError,
  type SubjectCheck,
  type SubjectRegistered,
} from '../../ops/schemas.js'
import { printJson, table } from '../output.js'

function printRegistered(subjects: readonly SubjectRegistered[]): void {
  process.stdout.write(
    table(
      ['SUBJECT', 'ID', 'VERSION', 'RESULT'],
      subjects.map((s) => [
        s.subject,
        String(s.id),
        String(s.version),
        s.registeredNow ? 'registered' : 'already registered',
      ]),
    ),
  )
}

function printChecked(subjects: readonly SubjectCheck[]): void {
  process.stdout.write(
    table(
      ['SUBJECT', 'STATUS', 'LATEST', 'LOCAL', 'COMPATIBILITY', 'WHY'],
      subjects.map((s) => [
        s.subject,
        s.status,
        s.latest ? `v${s.latest.version} (id ${s.latest.id})` : '-',
        s.localVersion === null ? '-' : `v${s.localVersion}`,
        s.compatibility ?? '-',
        s.reason,
      ]),
    ),
  )
}

export function registerSchemasCommand(program: Command): void {
  const schemas = program
    .command('schemas')
    .description(
      "Register and check the project's Avro schemas in the Schema Registry (subjects <topic>-value of " +
        "the event topics and the processor's output topics, topic names from PROCESSOR_CONFIG)",
    )
  schemas
    .command('register')
    .description(
      'Register the event and output schemas as provision does (the published history first, each ' +
        'subject BACKWARD_TRANSITIVE) and print each subject with the id and version of the local ' +
        'schema. Idempotent: a second run registers nothing. A schema the registry finds incompatible fails ' +
        'the command and leaves its subject as it was',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const registered = await registerProjectSchemas(loadConfig())
      if (options.json) printJson(registered)
      else printRegistered(registered)
    })
  schemas
    .command('check')
    .description(
      'For each subject: is the local schema registered as its latest version, and if not, would the ' +
        "registry accept it next under the subject's compatibility level (asked from the registry). " +
        'Exits 4, with a table saying which subject and why, when any subject is missing or differs; 0 ' +
        'when every one matches',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const checked = await checkProjectSchemas(loadConfig())
      if (options.json) printJson(checked)
      else printChecked(checked)
      if (checked.some((s) => s.status !== 'ok')) throw new SchemaMismatchError(checked)
    })
}

// The one error of event ingest that is the client's fault: the body does not fit the Avro schema of
// its event type. It lists every invalid field (the route answers 400 with them), so a client fixes
// its request in one round trip instead of one field at a time.
import type { FieldProblem } from './avro-shapes.js'

export type { FieldProblem }

export class EventValidationError extends Error {
  readonly code = 'INVALID_EVENT'
  /** Every invalid field, in the order of the schema, then unknown fields. */
  readonly details: readonly FieldProblem[]

  constructor(details: readonly FieldProblem[]) {
    super(
      `invalid event (${details.length} problem${details.length === 1 ? '' : 's'}): ` +
        details.map((d) => `${d.field}: ${d.message}`).join('; '),
    )
    this.name = 'EventValidationError'
    this.details = details
  }
}

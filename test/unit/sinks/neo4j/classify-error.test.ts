import { Neo4jError } from 'neo4j-driver'
import { describe, expect, it } from 'vitest'
import { classifyNeo4jError, isConnectionFailure } from '../../../../sinks/neo4j/classify-error.js'

const neo = (code: string) => new Neo4jError('x', code, 'x', 'x')

describe('classifyNeo4jError', () => {
  it.each([
    ['ServiceUnavailable', 'transient'],
    ['SessionExpired', 'transient'],
    ['Neo.TransientError.Transaction.DeadlockDetected', 'transient'],
    ['Neo.TransientError.Transaction.LockClientStopped', 'transient'],
    ['Neo.DatabaseError.General.UnknownError', 'transient'],
    ['Neo.ClientError.Cluster.NotALeader', 'transient'],
    ['Neo.ClientError.Schema.ConstraintValidationFailed', 'data'],
    ['Neo.ClientError.Statement.SemanticError', 'data'],
    ['Neo.ClientError.Statement.TypeError', 'data'],
    ['Neo.ClientError.Security.Unauthorized', 'fatal'],
    ['Neo.ClientError.Security.Forbidden', 'fatal'],
    ['Neo.ClientError.Database.DatabaseNotFound', 'fatal'],
    ['Neo.ClientError.Statement.SyntaxError', 'fatal'],
  ])('%s is %s', (code, kind) => {
    expect(classifyNeo4jError(neo(code))).toBe(kind)
  })

  it('treats socket errors (also as a cause) as transient connection failures, unknown errors as transient', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    expect(classifyNeo4jError(refused)).toBe('transient')
    expect(isConnectionFailure(new Error('wrapped', { cause: refused }))).toBe(true)
    expect(isConnectionFailure(neo('Neo.TransientError.Transaction.DeadlockDetected'))).toBe(false)
    expect(classifyNeo4jError(new Error('?'))).toBe('transient')
  })
})

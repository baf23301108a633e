// The API's role order (admin includes operator includes viewer) that every route's access check
// relies on, and the choice of one role from an identity provider's list.
import { describe, expect, it } from 'vitest'
import { type Access, allows, highestRole, isRole, ROLES, type Role } from '../../../api/auth/roles.js'

describe('allows', () => {
  // rows: the caller's role; columns: what the route needs
  const table: [Role, Record<Access, boolean>][] = [
    ['viewer', { public: true, viewer: true, operator: false, admin: false }],
    ['operator', { public: true, viewer: true, operator: true, admin: false }],
    ['admin', { public: true, viewer: true, operator: true, admin: true }],
  ]
  for (const [role, row] of table)
    for (const [needed, allowed] of Object.entries(row) as [Access, boolean][])
      it(`${role} ${allowed ? 'may' : 'may not'} call a route that needs ${needed}`, () => {
        expect(allows(role, needed)).toBe(allowed)
      })
})

describe('highestRole', () => {
  it.each([
    [['viewer'], 'viewer'],
    [['viewer', 'admin'], 'admin'],
    [['admin', 'viewer'], 'admin'],
    [['operator', 'viewer'], 'operator'],
    [['viewer', 'operator', 'admin', 'operator'], 'admin'],
    [['offline_access', 'operator', 'uma_authorization'], 'operator'],
    [['ADMIN', 'Admin', 'root'], undefined],
    [[1, null, { role: 'admin' }, ['admin']], undefined],
    [[], undefined],
  ] as [unknown[], Role | undefined][])('%j gives %s', (values, expected) => {
    expect(highestRole(values)).toBe(expected)
  })
})

describe('isRole', () => {
  it('accepts exactly the three roles', () => {
    expect(ROLES).toEqual(['viewer', 'operator', 'admin'])
    for (const role of ROLES) expect(isRole(role)).toBe(true)
    for (const value of ['', 'Admin', 'public', 'root', ' viewer', undefined, null, 0, ['admin']])
      expect(isRole(value), String(value)).toBe(false)
  })
})

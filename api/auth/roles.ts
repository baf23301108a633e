// The API's three roles and their order: admin includes operator, operator includes viewer. Every
// route declares the least role it needs (or `public`); app.ts refuses to register a route that
// declares nothing, so a route can never be open by omission.
export const ROLES = ['viewer', 'operator', 'admin'] as const
export type Role = (typeof ROLES)[number]

/** What a route declares: the least role that may call it, or `public` (no token needed). */
export type Access = Role | 'public'

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

/** Whether a caller with `role` may call a route that needs `needed`. */
export function allows(role: Role, needed: Access): boolean {
  return needed === 'public' || ROLES.indexOf(role) >= ROLES.indexOf(needed)
}

/** The highest role in a list (an identity provider may give several), or undefined if none is a role. */
export function highestRole(values: readonly unknown[]): Role | undefined {
  let best: Role | undefined
  for (const v of values) if (isRole(v) && (best === undefined || allows(v, best))) best = v
  return best
}

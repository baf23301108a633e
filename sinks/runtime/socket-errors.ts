// The Node socket error codes that say a target could not be reached (refused, reset, aborted, timed
// out, no route, no DNS answer): transient for every sink, and what counts as a connection failure.
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

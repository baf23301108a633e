// The one Lua script that applies a whole batch atomically (Redis runs a script to its end before any
// other command), loaded once with ioredis' defineCommand and called by SHA (EVALSHA, reloaded on
// NOSCRIPT). Its one argument is a JSON array of strings, decoded with Redis' cjson (bench/p4.ts
// measured it ~15% faster end to end than the same strings as separate ARGV entries):
//
//   ARGV[1] = JSON [ mode, now, { offsetKey, lastOffset, recordOffsets, opCount,
//                                  { offset, code, argCount, args... } * opCount } * ]
//
// recordOffsets: the offsets of every record the batch covers for the partition, comma-separated
// (before the TypeScript side dropped the older records of a key): the script adds those above the
// stored offset (all of them in mode `s`) to `<offsetKey>:applied`, so that the count of records
// applied per partition can be compared with the records in the log (the exactly-once audit).
//
// mode `g`: the guard: per partition, GET offsetKey; ops whose offset is at or below it are skipped;
//           offsetKey is set to lastOffset unless it is above already (never lowered).
// mode `s`: the same, every op applied whatever its offset (the control of the chaos test).
// mode `n`: no offset read nor written (the benchmark's baseline: the same writes, no guard).
//
// Every write sets the processors' latest value (DEL + HSET, ZADD, SADD/SREM, PEXPIREAT); nothing is
// incremented, so an op applied twice changes nothing. Ops (args after the code and count):
//   E key member idx field value ...   entity upsert: moves `member` from the sets listed in the hash's
//                                      `_idx` field to those of `idx` (set keys joined by "\n"; only
//                                      the difference is written), then replaces the hash
//   D key member                       entity delete: removes `member` from its sets, deletes the hash
//   H key field value ...              replaces a hash (no field: deletes it)
//   X key ...                          deletes keys
//   W key expireAt index member score trimSpan field value ...
//                                      window upsert: replaces the hash, PEXPIREAT expireAt; ZADD
//                                      index score member; trims index scores below now - trimSpan;
//                                      index expiry raised to expireAt
//   w key index member                 window delete
//   Z key score member expireAt        ZADD (expireAt 0: no expiry; else the key's expiry raised to it)
//   G key score member expireAt        the same with GT: a member's score is only ever raised (the
//                                      groups index: each group's latest window start, whatever
//                                      order the windows are applied in)
//   z key member                       ZREM
//   A key expireAt list score member max alertPrefix retention field value ...
//                                      alert: replaces the hash with its expiry, ZADD list, drops
//                                      alerts older than now - retention (their hashes expired), keeps
//                                      the `max` latest (the hashes of those trimmed deleted)
//   a key list member                  alert delete
// Returns the number of ops applied.
//
// Keys travel in ARGV, not KEYS: fine on one Redis (or a primary with replicas), not on Redis Cluster.

export const APPLY_SCRIPT = `
local A = cjson.decode(ARGV[1])
local call = redis.call
local mode = A[1]
local now = tonumber(A[2])

local function raise_expiry(key, at)
  -- -1: no expiry yet; -2: no key (trimmed empty): PEXPIREAT then does nothing.
  local cur = call('PEXPIRETIME', key)
  if cur == -1 or cur < at then call('PEXPIREAT', key, at) end
end

local function sets_of(idx)
  local out = {}
  if idx then for k in string.gmatch(idx, '[^\\n]+') do out[#out + 1] = k end end
  return out
end

local function ops(code, a, n)
  if code == 'E' then
    local key, member, idx = A[a], A[a + 1], A[a + 2]
    local old = call('HGET', key, '_idx')
    if old ~= idx then
      local was = {}
      for _, k in ipairs(sets_of(old)) do was[k] = true end
      for _, k in ipairs(sets_of(idx)) do
        if was[k] then was[k] = nil else call('SADD', k, member) end
      end
      for k in pairs(was) do call('SREM', k, member) end
    end
    call('DEL', key)
    call('HSET', key, '_idx', idx, unpack(A, a + 3, a + n - 1))
  elseif code == 'W' then
    local key, index = A[a], A[a + 2]
    call('DEL', key)
    call('HSET', key, unpack(A, a + 6, a + n - 1))
    local at = tonumber(A[a + 1])
    call('PEXPIREAT', key, at)
    call('ZADD', index, A[a + 4], A[a + 3])
    call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (now - tonumber(A[a + 5])))
    raise_expiry(index, at)
  elseif code == 'Z' or code == 'G' then
    local key = A[a]
    if code == 'G' then call('ZADD', key, 'GT', A[a + 1], A[a + 2]) else call('ZADD', key, A[a + 1], A[a + 2]) end
    local at = tonumber(A[a + 3])
    if at > 0 then raise_expiry(key, at) end
  elseif code == 'z' then
    call('ZREM', A[a], A[a + 1])
  elseif code == 'H' then
    call('DEL', A[a])
    if n > 1 then call('HSET', A[a], unpack(A, a + 1, a + n - 1)) end
  elseif code == 'D' then
    local key, member = A[a], A[a + 1]
    for _, k in ipairs(sets_of(call('HGET', key, '_idx'))) do call('SREM', k, member) end
    call('DEL', key)
  elseif code == 'X' then
    for j = a, a + n - 1 do call('DEL', A[j]) end
  elseif code == 'w' then
    call('DEL', A[a])
    call('ZREM', A[a + 1], A[a + 2])
  elseif code == 'A' then
    local key, list = A[a], A[a + 2]
    call('DEL', key)
    call('HSET', key, unpack(A, a + 8, a + n - 1))
    call('PEXPIREAT', key, A[a + 1])
    call('ZADD', list, A[a + 3], A[a + 4])
    call('ZREMRANGEBYSCORE', list, '-inf', '(' .. (now - tonumber(A[a + 7])))
    local max = tonumber(A[a + 5])
    local over = call('ZCARD', list) - max
    if over > 0 then
      local prefix = A[a + 6]
      for _, id in ipairs(call('ZRANGE', list, 0, over - 1)) do call('DEL', prefix .. id) end
      call('ZREMRANGEBYRANK', list, 0, over - 1)
    end
  elseif code == 'a' then
    call('DEL', A[a])
    call('ZREM', A[a + 1], A[a + 2])
  else
    return redis.error_reply('ERR unknown sink op ' .. tostring(code))
  end
end

local applied = 0
local i = 3
local total = #A
while i <= total do
  local okey, lastText, recordOffsets, count = A[i], A[i + 1], A[i + 2], tonumber(A[i + 3])
  local last = tonumber(lastText)
  i = i + 4
  local stored = -1
  if mode ~= 'n' then
    local s = call('GET', okey)
    if s then stored = tonumber(s) end
  end
  local guard = mode == 'g'
  if mode ~= 'n' then
    local covered = 0
    for o in string.gmatch(recordOffsets, '[^,]+') do
      if not guard or tonumber(o) > stored then covered = covered + 1 end
    end
    if covered > 0 then call('INCRBY', okey .. ':applied', covered) end
  end
  for _ = 1, count do
    local n = tonumber(A[i + 2])
    if not guard or tonumber(A[i]) > stored then
      local err = ops(A[i + 1], i + 3, n)
      if err then return err end
      applied = applied + 1
    end
    i = i + 3 + n
  end
  if mode ~= 'n' and last > stored then call('SET', okey, lastText) end
end
return applied
`

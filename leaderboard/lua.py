"""The Lua sources (EVAL/EVALSHA, Redis 6.2+); each runs atomically on one board-period's slot.

Key and argument layouts are documented above each script and built by `leaderboard.board`.
Lua numbers are doubles: every integer here stays within 2^53, and numbers are turned into
text with "%d" because Redis would otherwise format them with 14 significant digits.
"""

from __future__ import annotations

import functools

from leaderboard.encoding import MAX_SCORE, MEMBER_PREFIX_LEN

LOAD_SLICE = 1000

_PRELUDE = f"""
local PREFIX_LEN = {MEMBER_PREFIX_LEN}
local LIMIT = {MAX_SCORE}
local function fmt(n) return string.format('%d', n) end
-- Only dense boards keep the distinct-score index; only they need it for ranks.
local function track(policy, refcount, distinct, stored)
  if policy == 'dense' and redis.call('HINCRBY', refcount, stored, 1) == 1 then
    redis.call('ZADD', distinct, stored, stored)
  end
end
local function untrack(policy, refcount, distinct, stored)
  if policy == 'dense' and redis.call('HINCRBY', refcount, stored, -1) <= 0 then
    redis.call('HDEL', refcount, stored)
    redis.call('ZREM', distinct, stored)
  end
end
-- Members and distinct scores strictly better than `stored`, as far as the policy needs them:
-- first_to_reach ranks by position alone, competition by members ahead, dense by both.
local function ahead(policy, scores, distinct, stored)
  if policy == 'first_to_reach' then return 0, 0 end
  local bound = '(' .. stored
  local better = redis.call('ZCOUNT', scores, '-inf', bound)
  if policy == 'competition' then return better, 0 end
  return better, redis.call('ZCOUNT', distinct, '-inf', bound)
end
local function inherit_expiry(expiry, keys)
  local at = redis.call('GET', expiry)
  if at then
    for _, key in ipairs(keys) do redis.call('PEXPIREAT', key, at) end
  end
end
local function slice(policy, scores, distinct, meta, start, stop)
  local rows = redis.call('ZRANGE', scores, start, stop, 'WITHSCORES')
  if #rows == 0 then return {{}} end
  local ids = {{}}
  for i = 1, #rows, 2 do
    rows[i + 1] = fmt(tonumber(rows[i + 1]))
    ids[#ids + 1] = string.sub(rows[i], PREFIX_LEN + 1)
  end
  local better, distinct_better = ahead(policy, scores, distinct, rows[2])
  return {{start, better, distinct_better, rows, redis.call('HMGET', meta, unpack(ids))}}
end
"""

# KEYS: scores, members, distinct, refcount, metadata, expiry[, idempotency]
# ARGV: member id, value, reached prefix, sign, aggregation, fingerprint, idempotency TTL ms,
#       metadata mode (keep|set|del), metadata JSON, tie policy
# Returns {'replay', record} | {'ok', record} | {'overflow'}, where record is
# "fingerprint score position ahead distinct_ahead member_count".
SUBMIT = (
    _PRELUDE
    + """
local scores, members, distinct, refcount, meta, expiry, idem =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, value, sign, aggregation = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[4]), ARGV[5]
local policy = ARGV[10]
if idem then
  local prior = redis.call('GET', idem)
  if prior then return {'replay', prior} end
end
local reached = redis.call('HGET', members, id)
local current = nil
if reached then current = sign * tonumber(redis.call('ZSCORE', scores, reached .. ':' .. id)) end
local new = value
if current ~= nil then
  if aggregation == 'max' then new = math.max(current, value)
  elseif aggregation == 'min' then new = math.min(current, value)
  elseif aggregation == 'sum' then
    -- Checked before adding: a true sum just beyond 2^53 can round back onto the limit.
    if (value > 0 and current > LIMIT - value) or (value < 0 and current < -LIMIT - value) then
      return {'overflow'}
    end
    new = current + value
  end
end
if new ~= current then
  if reached then
    redis.call('ZREM', scores, reached .. ':' .. id)
    untrack(policy, refcount, distinct, fmt(sign * current))
  end
  reached = ARGV[3]
  redis.call('ZADD', scores, fmt(sign * new), reached .. ':' .. id)
  redis.call('HSET', members, id, reached)
  track(policy, refcount, distinct, fmt(sign * new))
end
if ARGV[8] == 'set' then redis.call('HSET', meta, id, ARGV[9])
elseif ARGV[8] == 'del' then redis.call('HDEL', meta, id) end
inherit_expiry(expiry, {scores, members, distinct, refcount, meta})
local better, distinct_better = ahead(policy, scores, distinct, fmt(sign * new))
local record = table.concat({ARGV[6], fmt(new),
  fmt(redis.call('ZRANK', scores, reached .. ':' .. id)), fmt(better), fmt(distinct_better),
  fmt(redis.call('ZCARD', scores))}, ' ')
if idem then redis.call('SET', idem, record, 'PX', ARGV[7]) end
return {'ok', record}
"""
)

# KEYS: scores, members, distinct, refcount, metadata, expiry, revisions, loaded
# ARGV: member id, score, reached prefix, sign, revision, metadata mode (keep|set|del),
#       metadata JSON, tie policy
# Sets the member's score exactly unless a put with a higher revision came first; a loaded
# copy keeps the sum of its members' revisions up to date.
# Returns "position ahead distinct_ahead" of the member afterwards.
PUT = (
    _PRELUDE
    + """
local scores, members, distinct, refcount, meta, expiry, revisions =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, sign, policy = ARGV[1], tonumber(ARGV[4]), ARGV[8]
local known = tonumber(redis.call('HGET', revisions, id) or '-1')
if tonumber(ARGV[5]) > known then
  local reached = redis.call('HGET', members, id)
  if reached then
    local encoded = reached .. ':' .. id
    untrack(policy, refcount, distinct, fmt(tonumber(redis.call('ZSCORE', scores, encoded))))
    redis.call('ZREM', scores, encoded)
  end
  local stored = fmt(sign * tonumber(ARGV[2]))
  redis.call('ZADD', scores, stored, ARGV[3] .. ':' .. id)
  redis.call('HSET', members, id, ARGV[3])
  redis.call('HSET', revisions, id, ARGV[5])
  if redis.call('EXISTS', KEYS[8]) == 1 then
    redis.call('HINCRBY', KEYS[8], 'revisions', fmt(tonumber(ARGV[5]) - math.max(known, 0)))
  end
  track(policy, refcount, distinct, stored)
  if ARGV[6] == 'set' then redis.call('HSET', meta, id, ARGV[7])
  elseif ARGV[6] == 'del' then redis.call('HDEL', meta, id) end
  inherit_expiry(expiry, {scores, members, distinct, refcount, meta, revisions})
end
local encoded = redis.call('HGET', members, id) .. ':' .. id
local stored = fmt(tonumber(redis.call('ZSCORE', scores, encoded)))
local better, distinct_better = ahead(policy, scores, distinct, stored)
return table.concat({fmt(redis.call('ZRANK', scores, encoded)), fmt(better), fmt(distinct_better)},
  ' ')
"""
)

# KEYS: metadata, expiry.  ARGV: member id, mode (set|del), metadata JSON.
SET_METADATA = (
    _PRELUDE
    + """
if ARGV[2] == 'set' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
else redis.call('HDEL', KEYS[1], ARGV[1]) end
inherit_expiry(KEYS[2], {KEYS[1]})
return 1
"""
)

# KEYS: scores, members, distinct, refcount, metadata, revisions, loaded.
# ARGV: member id, tie policy.  Returns 1 if removed.
REMOVE = (
    _PRELUDE
    + """
local scores, members, distinct, refcount, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id = ARGV[1]
redis.call('HDEL', meta, id)
local revision = redis.call('HGET', KEYS[6], id)
if revision and redis.call('EXISTS', KEYS[7]) == 1 then
  redis.call('HINCRBY', KEYS[7], 'revisions', fmt(-tonumber(revision)))
end
redis.call('HDEL', KEYS[6], id)
local reached = redis.call('HGET', members, id)
if not reached then return 0 end
local encoded = reached .. ':' .. id
local stored = fmt(tonumber(redis.call('ZSCORE', scores, encoded)))
redis.call('ZREM', scores, encoded)
redis.call('HDEL', members, id)
untrack(ARGV[2], refcount, distinct, stored)
return 1
"""
)

# KEYS: any keys of one board-period.  Deletes them together; UNLINK frees a board of millions
# of members in a background thread instead of blocking Redis for seconds.
DELETE = "return redis.call('UNLINK', unpack(KEYS))"

# KEYS: data keys..., expiry (last).  ARGV: Unix ms.  Later writes copy the deadline to new keys.
EXPIRE_AT = """
redis.call('SET', KEYS[#KEYS], ARGV[1])
for _, key in ipairs(KEYS) do redis.call('PEXPIREAT', key, ARGV[1]) end
return 1
"""

# KEYS: scores, distinct, metadata.  ARGV: start, stop (0-based, inclusive), tie policy.
# Returns {member_count, {start, ahead, distinct_ahead, rows, metadata}} (the slice is {} if empty).
PAGE = (
    _PRELUDE
    + """
local total = redis.call('ZCARD', KEYS[1])
local start, stop = tonumber(ARGV[1]), tonumber(ARGV[2])
return {total, slice(ARGV[3], KEYS[1], KEYS[2], KEYS[3], start, stop)}
"""
)

# KEYS: scores, members, distinct, metadata.  ARGV: member id, window size, tie policy.
# Returns like PAGE, or {member_count} when the member is not on the board.
AROUND = (
    _PRELUDE
    + """
local total = redis.call('ZCARD', KEYS[1])
local reached = redis.call('HGET', KEYS[2], ARGV[1])
if not reached then return {total} end
local position = redis.call('ZRANK', KEYS[1], reached .. ':' .. ARGV[1])
local size = tonumber(ARGV[2])
-- Clipped at both ends, so a member near the top or bottom still gets a full window.
local start = math.max(0, math.min(position - math.floor((size - 1) / 2), total - size))
return {total, slice(ARGV[3], KEYS[1], KEYS[3], KEYS[4], start, start + size - 1)}
"""
)

# KEYS: scores, members, distinct, metadata.  ARGV: member id, tie policy.
# Returns {member_count} or {member_count, stored, position, ahead, distinct_ahead, metadata}.
RANK_OF = (
    _PRELUDE
    + """
local total = redis.call('ZCARD', KEYS[1])
local reached = redis.call('HGET', KEYS[2], ARGV[1])
if not reached then return {total} end
local encoded = reached .. ':' .. ARGV[1]
local stored = fmt(tonumber(redis.call('ZSCORE', KEYS[1], encoded)))
local better, distinct_better = ahead(ARGV[2], KEYS[1], KEYS[3], stored)
return {total, stored, redis.call('ZRANK', KEYS[1], encoded), better, distinct_better,
  redis.call('HGET', KEYS[4], ARGV[1])}
"""
)

# KEYS: scores, members, metadata.  ARGV: distinct member ids.
# Returns {encoded members, stored scores, metadata} of the ids on the board.
FRIENDS = (
    _PRELUDE
    + """
local reached = redis.call('HMGET', KEYS[2], unpack(ARGV))
local encoded, ids = {}, {}
for i = 1, #ARGV do
  if reached[i] then
    encoded[#encoded + 1] = reached[i] .. ':' .. ARGV[i]
    ids[#ids + 1] = ARGV[i]
  end
end
if #ids == 0 then return {{}, {}, {}} end
local stored = {}
for i, member in ipairs(encoded) do
  stored[i] = fmt(tonumber(redis.call('ZSCORE', KEYS[1], member)))
end
return {encoded, stored, redis.call('HMGET', KEYS[3], unpack(ids))}
"""
)

# KEYS: staging scores, members, distinct, refcount, revisions; live metadata.
# ARGV: staging TTL ms, tie policy, the entries as one string of frames, each: the stored
# score's length (2 digits) and text ("%d"), the reached prefix (13 digits), the member id's
# length in bytes (3 digits) and the id, the revision's length (2 digits, 00 for none) and
# text, the metadata JSON's length in bytes (5 digits, 00000 for none) and the JSON. One
# string rather than several arguments per entry, because packing arguments was most of a
# load's client time; the writes go in bulk. Metadata goes straight to the live hash: reads
# only show it beside members on the board.
# Returns {'ok'} or {'duplicate', member id}.
LOAD_CHUNK = (
    _PRELUDE
    + f"""
local sub, frames, pos, n = string.sub, ARGV[3], 1, 0
local dense = ARGV[2] == 'dense'
local ids, fields, zargs, seen, revs, metas = {{}}, {{}}, {{}}, {{}}, {{}}, {{}}
while pos <= #frames do
  local score_end = pos + 1 + tonumber(sub(frames, pos, pos + 1))
  local stored = sub(frames, pos + 2, score_end)
  local reached = sub(frames, score_end + 1, score_end + 13)
  local stop = score_end + 16 + tonumber(sub(frames, score_end + 14, score_end + 16))
  local id = sub(frames, score_end + 17, stop)
  local rev_end = stop + 2 + tonumber(sub(frames, stop + 1, stop + 2))
  if rev_end > stop + 2 then
    revs[#revs + 1] = id
    revs[#revs + 1] = sub(frames, stop + 3, rev_end)
  end
  pos = rev_end + 6 + tonumber(sub(frames, rev_end + 1, rev_end + 5))
  if pos > rev_end + 6 then
    metas[#metas + 1] = id
    metas[#metas + 1] = sub(frames, rev_end + 6, pos - 1)
  end
  if seen[id] then return {{'duplicate', id}} end
  seen[id] = true
  n = n + 1
  ids[n] = id
  fields[2 * n - 1], fields[2 * n] = id, reached
  zargs[2 * n - 1], zargs[2 * n] = stored, reached .. ':' .. id
  if dense then track('dense', KEYS[4], KEYS[3], stored) end
end
-- unpack() is bounded by Lua's C stack, so bulk commands take {LOAD_SLICE} entries at a time.
for first = 1, n, {LOAD_SLICE} do
  local last = math.min(first + {LOAD_SLICE} - 1, n)
  local known = redis.call('HMGET', KEYS[2], unpack(ids, first, last))
  for i = 1, #known do
    if known[i] then return {{'duplicate', ids[first + i - 1]}} end
  end
  redis.call('HSET', KEYS[2], unpack(fields, 2 * first - 1, 2 * last))
  redis.call('ZADD', KEYS[1], unpack(zargs, 2 * first - 1, 2 * last))
end
for _, pairs in ipairs({{{{revs, KEYS[5]}}, {{metas, KEYS[6]}}}}) do
  for first = 1, #pairs[1], 2 * {LOAD_SLICE} do
    local last = math.min(first + 2 * {LOAD_SLICE} - 1, #pairs[1])
    redis.call('HSET', pairs[2], unpack(pairs[1], first, last))
  end
end
-- A load that dies half-way leaves only keys that expire on their own.
for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return {{'ok'}}
"""
)

# KEYS: live scores, members, distinct, refcount, revisions; staging ones in the same order;
# expiry, loaded, metadata.  ARGV: the sum of the loaded revisions.
# Swaps the staged standings and revisions in (an empty load empties the board; a load
# without revisions forgets those of the puts it replaced), marks the copy loaded with that
# sum and returns the member count.
LOAD_SWAP = """
for i = 1, 5 do
  -- UNLINK first: RENAME over a live key would free the old standings in the foreground.
  redis.call('UNLINK', KEYS[i])
  if redis.call('EXISTS', KEYS[i + 5]) == 1 then redis.call('RENAME', KEYS[i + 5], KEYS[i]) end
end
redis.call('DEL', KEYS[12])
redis.call('HSET', KEYS[12], 'revisions', ARGV[1])
-- RENAME carried the staging TTL over; the board keeps its retention deadline or none.
local at = redis.call('GET', KEYS[11])
for _, i in ipairs({1, 2, 3, 4, 5, 12, 13}) do
  if at then redis.call('PEXPIREAT', KEYS[i], at) else redis.call('PERSIST', KEYS[i]) end
end
return redis.call('ZCARD', KEYS[1])
"""

UNLOADED = "unloaded"

# KEYS: scores, loaded.  Returns {} when not loaded, else {member count, revision sum}.
CHECKSUM = """
if redis.call('EXISTS', KEYS[2]) == 0 then return {} end
return {redis.call('ZCARD', KEYS[1]), redis.call('HGET', KEYS[2], 'revisions') or '0'}
"""


@functools.cache
def guarded(source: str) -> str:
    """`source` run only on a loaded board-period: KEYS[1] is its `loaded` key, the rest are
    the script's own keys; replies UNLOADED, having done nothing, when that key is absent."""
    return f"""
if redis.call('EXISTS', KEYS[1]) == 0 then return '{UNLOADED}' end
local KEYS = {{unpack(KEYS, 2)}}
{source}"""

"""The Lua sources (EVAL/EVALSHA, Redis 6.2+); each runs atomically on one board-period's slot.

Key and argument layouts are documented above each script and built by `leaderboard.board`.
Lua numbers are doubles: every integer here stays within 2^53, and numbers are turned into
text with "%d" because Redis would otherwise format them with 14 significant digits.
"""

from __future__ import annotations

import functools

from leaderboard.encoding import AT_MS_DIGITS, MAX_SCORE, MEMBER_PREFIX_LEN

LOAD_SLICE = 1000
# Members per index bucket on average, before one splits: the fullest buckets then stay
# below the 128 entries up to which Redis keeps a hash in its compact listpack encoding
# (`hash-max-listpack-entries`, 128 by default), at any board size.
BUCKET_LOAD = 40

_PRELUDE = f"""
local PREFIX_LEN = {MEMBER_PREFIX_LEN}
local REACHED_LEN = {AT_MS_DIGITS}
local LIMIT = {MAX_SCORE}
local BUCKET_LOAD = {BUCKET_LOAD}
local SLICE = {LOAD_SLICE}
local function fmt(n) return string.format('%d', n) end
-- The member index (see leaderboard.encoding): member id -> reached prefix, then the put
-- revision if any, in buckets addressed by linear hashing. The HASH `index` holds 'level' and
-- 'split'; there are 2^level + split buckets, `index:0` and on.
local function id_hash(id)
  local h = 0
  for i = 1, #id do h = (h * 31 + string.byte(id, i)) % 2147483629 end
  return h
end
local function open_index(key)
  local state = redis.call('HMGET', key, 'level', 'split')
  local level = tonumber(state[1]) or 0
  return {{key = key, names = key .. ':', level = level, size = 2 ^ level,
    split = tonumber(state[2]) or 0, created = {{}}}}
end
-- Bucket numbers stay far below 1e14, which Lua turns into text without an exponent.
local function bucket_name(ix, n) return ix.names .. n end
local function bucket(ix, id)
  local h = id_hash(id)
  local n = h % ix.size
  if n < ix.split then n = h % (2 * ix.size) end
  return ix.names .. n
end
local function lookup(ix, id) return redis.call('HGET', bucket(ix, id), id) end
-- Members and distinct scores strictly better than `stored`, as far as the policy needs them:
-- first_to_reach ranks by position alone, competition by members ahead, dense by both.
local function ahead(policy, scores, distinct, stored)
  if policy == 'first_to_reach' then return 0, 0 end
  local bound = '(' .. stored
  local better = redis.call('ZCOUNT', scores, '-inf', bound)
  if policy == 'competition' then return better, 0 end
  return better, redis.call('ZCOUNT', distinct, '-inf', bound)
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

# What scripts that write add to the prelude: every helper a script defines costs it time on
# each call (4 µs for these), so reads go without them.
_WRITES = (
    _PRELUDE
    + """
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
-- Splits one bucket at a time, in order, until `members` average at most BUCKET_LOAD a
-- bucket; the buckets it fills are noted in ix.created (for expiry). Returns whether it split.
local function grow(ix, members)
  local split = false
  while members > BUCKET_LOAD * (ix.size + ix.split) do
    local size = ix.size
    local from, target = bucket_name(ix, ix.split), ix.split + size
    local entries, moved, ids = redis.call('HGETALL', from), {}, {}
    for i = 1, #entries, 2 do
      if id_hash(entries[i]) % (2 * size) == target then
        ids[#ids + 1] = entries[i]
        moved[#moved + 1] = entries[i]
        moved[#moved + 1] = entries[i + 1]
      end
    end
    if #ids > 0 then
      redis.call('HSET', bucket_name(ix, target), unpack(moved))
      redis.call('HDEL', from, unpack(ids))
      ix.created[#ix.created + 1] = bucket_name(ix, target)
    end
    ix.split = ix.split + 1
    if ix.split == size then ix.level, ix.size, ix.split = ix.level + 1, 2 * size, 0 end
    split = true
  end
  if split then redis.call('HSET', ix.key, 'level', fmt(ix.level), 'split', fmt(ix.split)) end
  return split
end
-- Calls `each` with every bucket's name, SLICE names at a time.
local function buckets(ix, each)
  local names, total = {}, ix.size + ix.split
  for n = 0, total - 1 do
    names[#names + 1] = bucket_name(ix, n)
    if #names == SLICE or n == total - 1 then each(names); names = {} end
  end
end
-- The index's own keys a write touched: its state, the member's bucket and those grow filled.
local function touched(ix, home)
  local keys = {ix.key, home}
  for _, key in ipairs(ix.created) do keys[#keys + 1] = key end
  return keys
end
local function drop_index(key)
  buckets(open_index(key), function(names) redis.call('UNLINK', unpack(names)) end)
  redis.call('UNLINK', key)
end
local function inherit_expiry(expiry, keys, more)
  local at = redis.call('GET', expiry)
  if at then
    for _, key in ipairs(keys) do redis.call('PEXPIREAT', key, at) end
    for _, key in ipairs(more or {}) do redis.call('PEXPIREAT', key, at) end
  end
end
"""
)

# KEYS: scores, index, distinct, refcount, metadata, expiry[, idempotency]
# ARGV: member id, value, reached prefix, sign, aggregation, fingerprint, idempotency TTL ms,
#       metadata mode (keep|set|del), metadata JSON, tie policy
# Returns {'replay', record} | {'ok', record} | {'overflow'}, where record is
# "fingerprint score position ahead distinct_ahead member_count".
SUBMIT = (
    _WRITES
    + """
local scores, distinct, refcount, meta, expiry, idem =
  KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, value, sign, aggregation = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[4]), ARGV[5]
local policy = ARGV[10]
if idem then
  local prior = redis.call('GET', idem)
  if prior then return {'replay', prior} end
end
local ix = open_index(KEYS[2])
local home = bucket(ix, id)
local found = redis.call('HGET', home, id)
local reached, current = nil, nil
if found then
  reached = string.sub(found, 1, REACHED_LEN)
  current = sign * tonumber(redis.call('ZSCORE', scores, reached .. ':' .. id))
end
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
  elseif grow(ix, redis.call('ZCARD', scores) + 1) then
    home = bucket(ix, id)
  end
  reached = ARGV[3]
  redis.call('ZADD', scores, fmt(sign * new), reached .. ':' .. id)
  -- A put's revision stays with the member.
  redis.call('HSET', home, id, reached .. string.sub(found or '', REACHED_LEN + 1))
  track(policy, refcount, distinct, fmt(sign * new))
end
if ARGV[8] == 'set' then redis.call('HSET', meta, id, ARGV[9])
elseif ARGV[8] == 'del' then redis.call('HDEL', meta, id) end
inherit_expiry(expiry, {scores, distinct, refcount, meta}, touched(ix, home))
local better, distinct_better = ahead(policy, scores, distinct, fmt(sign * new))
local record = table.concat({ARGV[6], fmt(new),
  fmt(redis.call('ZRANK', scores, reached .. ':' .. id)), fmt(better), fmt(distinct_better),
  fmt(redis.call('ZCARD', scores))}, ' ')
if idem then redis.call('SET', idem, record, 'PX', ARGV[7]) end
return {'ok', record}
"""
)

# KEYS: scores, index, distinct, refcount, metadata, expiry, loaded
# ARGV: member id, score, reached prefix, sign, revision, metadata mode (keep|set|del),
#       metadata JSON, tie policy
# Sets the member's score exactly unless a put with a higher revision came first; a loaded
# copy keeps the sum of its members' revisions up to date.
# Returns "position ahead distinct_ahead" of the member afterwards.
PUT = (
    _WRITES
    + """
local scores, distinct, refcount, meta, expiry = KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, sign, policy, revision = ARGV[1], tonumber(ARGV[4]), ARGV[8], tonumber(ARGV[5])
local ix = open_index(KEYS[2])
local home = bucket(ix, id)
local found = redis.call('HGET', home, id)
local known = found and tonumber(string.sub(found, REACHED_LEN + 1)) or -1
local reached = found and string.sub(found, 1, REACHED_LEN)
if revision > known then
  if found then
    local encoded = reached .. ':' .. id
    untrack(policy, refcount, distinct, fmt(tonumber(redis.call('ZSCORE', scores, encoded))))
    redis.call('ZREM', scores, encoded)
  elseif grow(ix, redis.call('ZCARD', scores) + 1) then
    home = bucket(ix, id)
  end
  reached = ARGV[3]
  local stored = fmt(sign * tonumber(ARGV[2]))
  redis.call('ZADD', scores, stored, reached .. ':' .. id)
  redis.call('HSET', home, id, reached .. ARGV[5])
  if redis.call('EXISTS', KEYS[7]) == 1 then
    redis.call('HINCRBY', KEYS[7], 'revisions', fmt(revision - math.max(known, 0)))
  end
  track(policy, refcount, distinct, stored)
  if ARGV[6] == 'set' then redis.call('HSET', meta, id, ARGV[7])
  elseif ARGV[6] == 'del' then redis.call('HDEL', meta, id) end
  inherit_expiry(expiry, {scores, distinct, refcount, meta}, touched(ix, home))
end
local encoded = reached .. ':' .. id
local stored = fmt(tonumber(redis.call('ZSCORE', scores, encoded)))
local better, distinct_better = ahead(policy, scores, distinct, stored)
return table.concat({fmt(redis.call('ZRANK', scores, encoded)), fmt(better), fmt(distinct_better)},
  ' ')
"""
)

# KEYS: metadata, expiry.  ARGV: member id, mode (set|del), metadata JSON.
SET_METADATA = (
    _WRITES
    + """
if ARGV[2] == 'set' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
else redis.call('HDEL', KEYS[1], ARGV[1]) end
inherit_expiry(KEYS[2], {KEYS[1]})
return 1
"""
)

# KEYS: scores, index, distinct, refcount, metadata, loaded.
# ARGV: member id, tie policy.  Returns 1 if removed.
REMOVE = (
    _WRITES
    + """
local scores, distinct, refcount = KEYS[1], KEYS[3], KEYS[4]
local id = ARGV[1]
redis.call('HDEL', KEYS[5], id)
local home = bucket(open_index(KEYS[2]), id)
local found = redis.call('HGET', home, id)
if not found then return 0 end
local revision = tonumber(string.sub(found, REACHED_LEN + 1))
if revision and redis.call('EXISTS', KEYS[6]) == 1 then
  redis.call('HINCRBY', KEYS[6], 'revisions', fmt(-revision))
end
redis.call('HDEL', home, id)
local encoded = string.sub(found, 1, REACHED_LEN) .. ':' .. id
local stored = fmt(tonumber(redis.call('ZSCORE', scores, encoded)))
redis.call('ZREM', scores, encoded)
untrack(ARGV[2], refcount, distinct, stored)
return 1
"""
)

# KEYS: scores, index, then any other keys of the same board-period.  Deletes them together,
# the index's buckets included; UNLINK frees a board of millions of members in a background
# thread instead of blocking Redis for seconds.
DELETE = (
    _WRITES
    + """
drop_index(KEYS[2])
redis.call('UNLINK', unpack(KEYS))
return 1
"""
)

# KEYS: scores, index, other keys..., expiry (last).  ARGV: Unix ms.  Later writes copy the
# deadline to new keys.
EXPIRE_AT = (
    _WRITES
    + """
redis.call('SET', KEYS[#KEYS], ARGV[1])
for _, key in ipairs(KEYS) do redis.call('PEXPIREAT', key, ARGV[1]) end
buckets(open_index(KEYS[2]), function(names)
  for _, key in ipairs(names) do redis.call('PEXPIREAT', key, ARGV[1]) end
end)
return 1
"""
)

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

# KEYS: scores, index, distinct, metadata.  ARGV: member id, window size, tie policy.
# Returns like PAGE, or {member_count} when the member is not on the board.
AROUND = (
    _PRELUDE
    + """
local total = redis.call('ZCARD', KEYS[1])
local found = lookup(open_index(KEYS[2]), ARGV[1])
if not found then return {total} end
local encoded = string.sub(found, 1, REACHED_LEN) .. ':' .. ARGV[1]
local position = redis.call('ZRANK', KEYS[1], encoded)
local size = tonumber(ARGV[2])
-- Clipped at both ends, so a member near the top or bottom still gets a full window.
local start = math.max(0, math.min(position - math.floor((size - 1) / 2), total - size))
return {total, slice(ARGV[3], KEYS[1], KEYS[3], KEYS[4], start, start + size - 1)}
"""
)

# KEYS: scores, index, distinct, metadata.  ARGV: member id, tie policy.
# Returns {member_count} or {member_count, stored, position, ahead, distinct_ahead, metadata}.
RANK_OF = (
    _PRELUDE
    + """
local total = redis.call('ZCARD', KEYS[1])
local found = lookup(open_index(KEYS[2]), ARGV[1])
if not found then return {total} end
local encoded = string.sub(found, 1, REACHED_LEN) .. ':' .. ARGV[1]
local stored = fmt(tonumber(redis.call('ZSCORE', KEYS[1], encoded)))
local better, distinct_better = ahead(ARGV[2], KEYS[1], KEYS[3], stored)
return {total, stored, redis.call('ZRANK', KEYS[1], encoded), better, distinct_better,
  redis.call('HGET', KEYS[4], ARGV[1])}
"""
)

# KEYS: scores, index, metadata.  ARGV: distinct member ids.
# Returns {encoded members, stored scores, metadata} of the ids on the board.
FRIENDS = (
    _PRELUDE
    + """
local ix = open_index(KEYS[2])
local encoded, ids, stored = {}, {}, {}
for _, id in ipairs(ARGV) do
  local found = lookup(ix, id)
  if found then
    encoded[#encoded + 1] = string.sub(found, 1, REACHED_LEN) .. ':' .. id
    ids[#ids + 1] = id
  end
end
if #ids == 0 then return {{}, {}, {}} end
for i, member in ipairs(encoded) do
  stored[i] = fmt(tonumber(redis.call('ZSCORE', KEYS[1], member)))
end
return {encoded, stored, redis.call('HMGET', KEYS[3], unpack(ids))}
"""
)

# KEYS: staging scores, index, distinct, refcount; live metadata.
# ARGV: staging TTL ms, tie policy, the entries as one string of frames, each: the stored
# score's length (2 digits) and text ("%d"), the reached prefix (13 digits), the member id's
# length in bytes (3 digits) and the id, the revision's length (2 digits, 00 for none) and
# text, the metadata JSON's length in bytes (5 digits, 00000 for none) and the JSON. One
# string rather than several arguments per entry, because packing arguments was most of a
# load's client time; the writes go in bulk, one per index bucket. Metadata goes straight to
# the live hash: reads only show it beside members on the board.
# Returns {'ok'} or {'duplicate', member id}.
LOAD_CHUNK = (
    _WRITES
    + """
local sub, frames, pos, n = string.sub, ARGV[3], 1, 0
local dense = ARGV[2] == 'dense'
local ids, values, zargs, seen, metas = {}, {}, {}, {}, {}
while pos <= #frames do
  local score_end = pos + 1 + tonumber(sub(frames, pos, pos + 1))
  local stored = sub(frames, pos + 2, score_end)
  local reached = sub(frames, score_end + 1, score_end + REACHED_LEN)
  local stop = score_end + 16 + tonumber(sub(frames, score_end + 14, score_end + 16))
  local id = sub(frames, score_end + 17, stop)
  local rev_end = stop + 2 + tonumber(sub(frames, stop + 1, stop + 2))
  pos = rev_end + 6 + tonumber(sub(frames, rev_end + 1, rev_end + 5))
  if pos > rev_end + 6 then
    metas[#metas + 1] = id
    metas[#metas + 1] = sub(frames, rev_end + 6, pos - 1)
  end
  if seen[id] then return {'duplicate', id} end
  seen[id] = true
  n = n + 1
  ids[n], values[n] = id, reached .. sub(frames, stop + 3, rev_end)
  zargs[2 * n - 1], zargs[2 * n] = stored, reached .. ':' .. id
  if dense then track('dense', KEYS[4], KEYS[3], stored) end
end
local ix = open_index(KEYS[2])
grow(ix, redis.call('ZCARD', KEYS[1]) + n)
local groups, homes = {}, {}
for i = 1, n do
  local home = bucket(ix, ids[i])
  if not groups[home] then groups[home] = {}; homes[#homes + 1] = home end
  table.insert(groups[home], i)
end
-- unpack() is bounded by Lua's C stack: a bucket holds few members, the ZADD goes in slices.
for _, home in ipairs(homes) do
  local names, fields = {}, {}
  for _, i in ipairs(groups[home]) do
    names[#names + 1] = ids[i]
    fields[#fields + 1] = ids[i]
    fields[#fields + 1] = values[i]
  end
  local known = redis.call('HMGET', home, unpack(names))
  for j = 1, #known do
    if known[j] then return {'duplicate', names[j]} end
  end
  redis.call('HSET', home, unpack(fields))
end
for first = 1, #zargs, 2 * SLICE do
  redis.call('ZADD', KEYS[1], unpack(zargs, first, math.min(first + 2 * SLICE - 1, #zargs)))
end
for first = 1, #metas, 2 * SLICE do
  redis.call('HSET', KEYS[5], unpack(metas, first, math.min(first + 2 * SLICE - 1, #metas)))
end
-- A load that dies half-way leaves only keys that expire on their own (buckets no chunk
-- wrote for a while are renewed by RENEW); the swap counts the index, so a bucket that
-- expired before it is noticed.
for _, key in ipairs({KEYS[1], KEYS[2], KEYS[3], KEYS[4]}) do
  redis.call('PEXPIRE', key, ARGV[1])
end
for _, keys in ipairs({homes, ix.created}) do
  for _, key in ipairs(keys) do redis.call('PEXPIRE', key, ARGV[1]) end
end
return {'ok'}
"""
)

# KEYS: live scores, index, distinct, refcount; staging ones in the same order; expiry,
# loaded, metadata; the superseded layout's keys.  ARGV: the sum of the loaded revisions,
# the number of members loaded.
# Swaps the staged standings in (an empty load empties the board), marks the copy loaded
# with that sum and returns the member count; returns 'lost' and changes nothing when the
# staging keys no longer hold every member loaded (they expired during a long pause).
LOAD_SWAP = (
    _WRITES
    + """
local expected, at = tonumber(ARGV[2]), redis.call('GET', KEYS[9])
-- The board keeps its retention deadline or none, not the staging TTL.
local function settle(key)
  if at then redis.call('PEXPIREAT', key, at) else redis.call('PERSIST', key) end
end
if redis.call('ZCARD', KEYS[5]) ~= expected then return 'lost' end
local staged, filled, indexed = open_index(KEYS[6]), {}, 0
buckets(staged, function(names)
  for _, key in ipairs(names) do
    local size = redis.call('HLEN', key)
    if size > 0 then
      indexed = indexed + size
      filled[#filled + 1] = key
    end
  end
end)
if indexed ~= expected then return 'lost' end
-- UNLINK first: RENAME over a live key would free the old standings in the foreground.
drop_index(KEYS[2])
redis.call('UNLINK', KEYS[12], KEYS[13], KEYS[14])
for _, i in ipairs({1, 2, 3, 4}) do
  redis.call('UNLINK', KEYS[i])
  if redis.call('EXISTS', KEYS[i + 4]) == 1 then redis.call('RENAME', KEYS[i + 4], KEYS[i]) end
end
for _, key in ipairs(filled) do
  local live = KEYS[2] .. string.sub(key, #KEYS[6] + 1)
  redis.call('RENAME', key, live)
  settle(live)
end
redis.call('DEL', KEYS[10])
redis.call('HSET', KEYS[10], 'revisions', ARGV[1])
for _, i in ipairs({1, 2, 3, 4, 10, 11}) do settle(KEYS[i]) end
return redis.call('ZCARD', KEYS[1])
"""
)

# KEYS: a staging index.  ARGV: TTL ms, first bucket, bucket count.
# Renews the TTL of that many of its buckets; returns the index's bucket count.
RENEW = (
    _WRITES
    + """
local ix = open_index(KEYS[1])
local total = ix.size + ix.split
for n = tonumber(ARGV[2]), math.min(total, tonumber(ARGV[2]) + tonumber(ARGV[3])) - 1 do
  redis.call('PEXPIRE', bucket_name(ix, n), ARGV[1])
end
return total
"""
)

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

//! The Lua scripts: every write of a session (and of its user's index) is
//! one of these, so it is atomic on its node. The crate docs' "Layout"
//! section says what each maintains.

use redis::Script;

/// Lua that starts every script: they write after reading `TIME`, so they
/// must be replicated as effects (the default since Redis 5, the only mode
/// since Redis 7, where this call is a no-op).
const EFFECTS: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
";

/// Lua shared by the scripts that apply a change set.
const APPLY: &str = r"
-- Runs `cmd key` with the items of `list`, at most 1000 per call (unpack's
-- limit; an even number, so field/value pairs stay together).
local function chunked(cmd, key, list)
  local i = 1
  while i <= #list do
    local j = math.min(i + 999, #list)
    redis.call(cmd, key, unpack(list, i, j))
    i = j + 1
  end
end
-- Applies the change set at ARGV[b..]: the new expiry, '1' to drop every
-- key first, the user change ('' none, '-' no user, 'u:<user>'), how many
-- keys are removed, those keys, then key/value pairs to the end. One HDEL
-- and one HSET (per 1000 items), then EXPIREAT.
local function apply(key, b)
  local del = {}
  if ARGV[b + 1] == '1' then
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if string.sub(f, 1, 2) == 'd:' then del[#del + 1] = f end
    end
  end
  local set = {'m:expires', ARGV[b]}
  local u = ARGV[b + 2]
  if u == '-' then del[#del + 1] = 'm:user'
  elseif u ~= '' then set[3] = 'm:user'; set[4] = string.sub(u, 3) end
  local i = b + 4
  for _ = 1, tonumber(ARGV[b + 3]) do del[#del + 1] = 'd:' .. ARGV[i]; i = i + 1 end
  while i <= #ARGV do set[#set + 1] = 'd:' .. ARGV[i]; set[#set + 1] = ARGV[i + 1]; i = i + 2 end
  chunked('HDEL', key, del)
  chunked('HSET', key, set)
  redis.call('EXPIREAT', key, ARGV[b])
end
-- The user once the change set at ARGV[b..] is applied to a record whose
-- user is `before` (false: none), or false.
local function user_after(b, before)
  local u = ARGV[b + 2]
  if u == '-' then return false end
  if u ~= '' then return string.sub(u, 3) end
  return before
end
";

/// Lua shared by the scripts that write a user index.
const SETTLE: &str = r"
-- Drops the members of the index `z` whose score is more than `margin`
-- seconds past by the server's clock; the index expires `margin` seconds
-- after its highest score.
local function settle(z, margin)
  local t = tonumber(redis.call('TIME')[1])
  redis.call('ZREMRANGEBYSCORE', z, '-inf', '(' .. (t - margin))
  local top = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('EXPIREAT', z, tonumber(top[2]) + margin) end
end
";

/// Lua for the single-Redis scripts: `ARGV[1]` is always the key prefix.
const SINGLE_INDEX: &str = r"
local function ukey(user) return ARGV[1] .. 'user-sessions:{' .. user .. '}' end
local function index(user, member, exp)
  if user then local z = ukey(user); redis.call('ZADD', z, exp, member); settle(z, 0) end
end
local function unindex(user, member)
  if user then local z = ukey(user); redis.call('ZREM', z, member); settle(z, 0) end
end
";

// KEYS: a deny-list bucket. ARGV: id hex, until. Puts the id in the bucket
// with `until` as its score, unless it is there with a later one (what
// `ZADD GT` does, on Redis before 6.2 too).
const DENY: &str = r"
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
";

// KEYS: record. ARGV: prefix, now, id hex, expires, created, user ('' or
// 'u:<user>'), then key/value pairs.
const SINGLE_CREATE: &str = r"
local m = redis.call('HMGET', KEYS[1], 'm:expires', 'm:user')
if m[1] and tonumber(m[1]) > tonumber(ARGV[2]) then return 0 end
local user = ARGV[6] ~= '' and string.sub(ARGV[6], 3)
local stale = m[2]
index(user, ARGV[3], ARGV[4])
if stale and stale ~= user then unindex(stale, ARGV[3]) end
redis.call('DEL', KEYS[1])
local set = {'m:expires', ARGV[4], 'm:created', ARGV[5]}
if user then set[5] = 'm:user'; set[6] = user end
for i = 7, #ARGV, 2 do set[#set + 1] = 'd:' .. ARGV[i]; set[#set + 1] = ARGV[i + 1] end
chunked('HSET', KEYS[1], set)
redis.call('EXPIREAT', KEYS[1], ARGV[4])
return 1
";

// KEYS: record. ARGV: prefix, now, id hex, then the change set. The head
// runs before any function is defined (Lua makes every function anew on
// each run, and collects them): an update with no user before or after,
// not cleared, of at most 1000 items (most of them) is done there inline.
const SINGLE_UPDATE_HEAD: &str = r"
local m = redis.call('HMGET', KEYS[1], 'm:expires', 'm:user')
if not m[1] or tonumber(m[1]) <= tonumber(ARGV[2]) then return 0 end
if not m[2] and ARGV[6] == '' and ARGV[5] ~= '1' and #ARGV <= 1000 then
  local n = tonumber(ARGV[7])
  if n > 0 then
    local del = {}
    for i = 8, 7 + n do del[#del + 1] = 'd:' .. ARGV[i] end
    redis.call('HDEL', KEYS[1], unpack(del))
  end
  local set = {'m:expires', ARGV[4]}
  for i = 8 + n, #ARGV, 2 do set[#set + 1] = 'd:' .. ARGV[i]; set[#set + 1] = ARGV[i + 1] end
  redis.call('HSET', KEYS[1], unpack(set))
  redis.call('EXPIREAT', KEYS[1], ARGV[4])
  return 1
end
";
// The rest: the index functions, then the general case.
const SINGLE_UPDATE_MID: &str = r"
local before = m[2]
local after = user_after(4, before)
if not before and not after then apply(KEYS[1], 4); return 1 end
";
const SINGLE_UPDATE_TAIL: &str = r"
index(after, ARGV[3], ARGV[4])
if before and before ~= after then unindex(before, ARGV[3]) end
apply(KEYS[1], 4)
return 1
";

// KEYS: old record, new record. ARGV: prefix, now, old hex, new hex, then
// the change set.
const SINGLE_CYCLE: &str = r"
local exp = redis.call('HGET', KEYS[1], 'm:expires')
if not exp or tonumber(exp) <= tonumber(ARGV[2]) then return 0 end
local taken = redis.call('HGET', KEYS[2], 'm:expires')
if taken and tonumber(taken) > tonumber(ARGV[2]) then return -1 end
local before = redis.call('HGET', KEYS[1], 'm:user')
local stale = redis.call('HGET', KEYS[2], 'm:user')
local after = user_after(5, before)
index(after, ARGV[4], ARGV[5])
unindex(before, ARGV[3])
if stale and stale ~= after then unindex(stale, ARGV[4]) end
redis.call('RENAME', KEYS[1], KEYS[2])
apply(KEYS[2], 5)
return 1
";

// KEYS: record. ARGV: prefix, id hex.
const SINGLE_DELETE: &str = r"
local user = redis.call('HGET', KEYS[1], 'm:user')
redis.call('DEL', KEYS[1])
unindex(user, ARGV[2])
return 1
";

// KEYS: the user's index. ARGV: prefix, user, batch size. Returns the
// sessions deleted and the members processed.
const SINGLE_REVOKE: &str = r"
local ms = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
local n = 0
for _, m in ipairs(ms) do
  local k = ARGV[1] .. '{' .. m .. '}'
  if redis.call('HGET', k, 'm:user') == ARGV[2] then n = n + redis.call('DEL', k) end
  redis.call('ZREM', KEYS[1], m)
end
return {n, #ms}
";

// KEYS: the user's index. ARGV: prefix, user, batch size, the id (hex) to
// keep, now. `SINGLE_REVOKE` for `delete_others_of`: the first members but
// `keep` (up to a batch of them), each deleted if it still belongs to the
// user and removed from the index; `keep` stays, listed. Returns the
// sessions deleted that were live at `now` and the members processed.
const SINGLE_REVOKE_OTHERS: &str = r"
local batch = tonumber(ARGV[3])
local ms = redis.call('ZRANGE', KEYS[1], 0, batch)
local n, done = 0, 0
for _, m in ipairs(ms) do
  if m ~= ARGV[4] and done < batch then
    done = done + 1
    local k = ARGV[1] .. '{' .. m .. '}'
    local r = redis.call('HMGET', k, 'm:user', 'm:expires')
    if r[1] == ARGV[2] then
      redis.call('DEL', k)
      if r[2] and tonumber(r[2]) > tonumber(ARGV[5]) then n = n + 1 end
    end
    redis.call('ZREM', KEYS[1], m)
  end
end
return {n, done}
";

// KEYS: the user's index. ARGV: id hex, claim, margin.
const CLUSTER_INDEX: &str = r"
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) < tonumber(ARGV[2]) then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
settle(KEYS[1], tonumber(ARGV[3]))
return 1
";

// KEYS: record. ARGV: now, expires, created, user ('' or 'u:<user>'), the
// index claim, then key/value pairs.
const CLUSTER_CREATE: &str = r"
local exp = redis.call('HGET', KEYS[1], 'm:expires')
if exp and tonumber(exp) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
local set = {'m:expires', ARGV[2], 'm:created', ARGV[3]}
if ARGV[4] ~= '' then
  set[5] = 'm:user'; set[6] = string.sub(ARGV[4], 3); set[7] = 'm:idx'; set[8] = ARGV[5]
end
for i = 6, #ARGV, 2 do set[#set + 1] = 'd:' .. ARGV[i]; set[#set + 1] = ARGV[i + 1] end
chunked('HSET', KEYS[1], set)
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
";

// KEYS: record. ARGV: now, the claimed user ('' or 'u:<user>'), its claim,
// then the change set. Returns {'0'} (not live), {'1'} (done) or
// {'2', user} (the index of `user` must be claimed first; nothing written).
const CLUSTER_UPDATE: &str = r"
local m = redis.call('HMGET', KEYS[1], 'm:expires', 'm:user', 'm:idx')
if not m[1] or tonumber(m[1]) <= tonumber(ARGV[1]) then return {'0'} end
local before = m[2]
local after = user_after(4, before)
local cover = 0
if after then
  if before == after then cover = tonumber(m[3] or '0') end
  if ARGV[2] ~= '' and string.sub(ARGV[2], 3) == after and tonumber(ARGV[3]) > cover then
    cover = tonumber(ARGV[3])
  end
  if cover < tonumber(ARGV[4]) then return {'2', after} end
end
apply(KEYS[1], 4)
if after then redis.call('HSET', KEYS[1], 'm:idx', cover) else redis.call('HDEL', KEYS[1], 'm:idx') end
redis.call('HINCRBY', KEYS[1], 'm:ver', 1)
return {'1'}
";

// KEYS: the old record. ARGV: now, the update counter read, the new id
// (hex), the tombstone's lifetime (seconds). Returns 1 (moved: the old
// record is now a tombstone pointing to the new id), 0 (not live any more)
// or -1 (updated since).
const CLUSTER_CYCLE_FINISH: &str = r"
local exp = redis.call('HGET', KEYS[1], 'm:expires')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return 0 end
if (redis.call('HGET', KEYS[1], 'm:ver') or '') ~= ARGV[2] then return -1 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'm:moved', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
";

// KEYS: record. Deletes it unless it is a tombstone (no `m:expires`, a
// `m:moved`): that is an absent session, and revocations may need it.
const CLUSTER_DELETE: &str = r"
if not redis.call('HGET', KEYS[1], 'm:expires') and redis.call('HEXISTS', KEYS[1], 'm:moved') == 1 then
  return 0
end
return redis.call('DEL', KEYS[1])
";

// KEYS: record. ARGV: user, and for `delete_others_of` the time now.
// Deletes the record if it belongs to the user. Returns the records
// deleted (with a time: those live then) and, for a tombstone, the id
// (hex) the session moved to, else ''.
const CLUSTER_DELETE_IF_USER: &str = r"
local m = redis.call('HMGET', KEYS[1], 'm:user', 'm:expires', 'm:moved')
if m[1] == ARGV[1] then
  local n = redis.call('DEL', KEYS[1])
  if ARGV[2] and not (m[2] and tonumber(m[2]) > tonumber(ARGV[2])) then n = 0 end
  return {n, ''}
end
return {0, m[3] or ''}
";

/// Every script the store runs, loaded once.
pub(crate) struct Scripts {
    pub(crate) deny: Script,
    pub(crate) single_create: Script,
    pub(crate) single_update: Script,
    pub(crate) single_cycle: Script,
    pub(crate) single_delete: Script,
    pub(crate) single_revoke: Script,
    pub(crate) single_revoke_others: Script,
    pub(crate) cluster_index: Script,
    pub(crate) cluster_create: Script,
    pub(crate) cluster_update: Script,
    pub(crate) cluster_cycle_finish: Script,
    pub(crate) cluster_delete: Script,
    pub(crate) cluster_delete_if_user: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        let single =
            |body: &str| Script::new(&format!("{EFFECTS}{APPLY}{SETTLE}{SINGLE_INDEX}{body}"));
        let cluster = |body: &str| Script::new(&format!("{EFFECTS}{APPLY}{SETTLE}{body}"));
        Self {
            deny: Script::new(DENY),
            single_create: single(SINGLE_CREATE),
            single_update: Script::new(&format!(
                "{EFFECTS}{SINGLE_UPDATE_HEAD}{APPLY}{SINGLE_UPDATE_MID}{SETTLE}{SINGLE_INDEX}{SINGLE_UPDATE_TAIL}"
            )),
            single_cycle: single(SINGLE_CYCLE),
            single_delete: single(SINGLE_DELETE),
            single_revoke: single(SINGLE_REVOKE),
            single_revoke_others: single(SINGLE_REVOKE_OTHERS),
            cluster_index: cluster(CLUSTER_INDEX),
            cluster_create: cluster(CLUSTER_CREATE),
            cluster_update: cluster(CLUSTER_UPDATE),
            cluster_cycle_finish: cluster(CLUSTER_CYCLE_FINISH),
            cluster_delete: cluster(CLUSTER_DELETE),
            cluster_delete_if_user: cluster(CLUSTER_DELETE_IF_USER),
        }
    }
}

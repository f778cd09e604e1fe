import { createHash } from "node:crypto";

/**
 * The Lua scripts of the HA mode (DESIGN section 14). Each runs atomically
 * on one redis-server. Keys of one validator: KEYS[1] the lease (instance id,
 * with a PX expiry), KEYS[2] the epoch counter, KEYS[3] the sign-state hash.
 *
 * Sign state: one field per slot ("prepare", "commit", "timeout", "lock",
 * "own", "lane/<L>", "app") holding "<a>:<b>:<tag>", the highest position
 * (a, b) written to that slot and a tag naming its content (a hash); a slot
 * may carry bytes in the field "<slot>#data" (the lock's PrepareQC, the own
 * lane's last block) that a successor needs to continue. KEYS[4] keeps the
 * own lane's last blocks by number (a bounded window), for a successor whose
 * peers never received them.
 */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
  readonly keys: number;
}

function script(name: string, keys: number, lua: string): LuaScript {
  return { name, keys, lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/** Take the lease when it is free or already ours. ARGV: id, ttlMs. -> 1 | 0 */
export const ACQUIRE = script(
  "acquire",
  1,
  `local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`,
);

/** Increment the epoch, only while holding the lease. ARGV: id. -> new epoch | -1 */
export const INCR_EPOCH = script(
  "incrEpoch",
  2,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('INCR', KEYS[2])`,
);

/**
 * Extend the lease, owner- and epoch-checked. A node where the lease key is
 * gone (expired, or the server restarted empty) is taken again; a node that
 * missed the epoch increment learns it. ARGV: id, ttlMs, epoch. -> 1 | 0
 */
export const RENEW = script(
  "renew",
  2,
  `local e = tonumber(redis.call('GET', KEYS[2]) or '0')
local me = tonumber(ARGV[3])
if e > me then return 0 end
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  return 0
end
if e < me then redis.call('SET', KEYS[2], ARGV[3]) end
return 1`,
);

/** Drop the lease if it is ours. ARGV: id. -> 1 | 0 */
export const RELEASE = script(
  "release",
  1,
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`,
);

/**
 * Write sign-state records, all or none. ARGV: id, epoch, own-block window,
 * then per record slot, a, b, tag, data ('' = none). Another owner or a higher epoch ->
 * {'FENCED', why}; the same position with another tag -> {'CONFLICT', slot,
 * stored}; the same record again -> ok; a lower position than the stored one
 * -> ok, the higher one is kept. -> {'OK'}
 */
export const PUBLISH = script(
  "publish",
  4,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'FENCED', 'lease'} end
local e = tonumber(redis.call('GET', KEYS[2]) or '0')
local me = tonumber(ARGV[2])
if e > me then return {'FENCED', 'epoch'} end
local writes = {}
local keep = tonumber(ARGV[3])
for i = 4, #ARGV, 5 do
  local slot = ARGV[i]
  local a = tonumber(ARGV[i + 1])
  local b = tonumber(ARGV[i + 2])
  local cur = redis.call('HGET', KEYS[3], slot)
  local write = true
  if cur then
    local sa, sb, stag = string.match(cur, '^(%d+):(%d+):(.*)$')
    sa = tonumber(sa)
    sb = tonumber(sb)
    if sa == a and sb == b then
      if stag ~= ARGV[i + 3] then return {'CONFLICT', slot, cur} end
      write = false
    elseif sa > a or (sa == a and sb > b) then
      write = false
    end
  end
  if write then writes[#writes + 1] = i end
end
if e < me then redis.call('SET', KEYS[2], ARGV[2]) end
for _, i in ipairs(writes) do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1] .. ':' .. ARGV[i + 2] .. ':' .. ARGV[i + 3])
  if ARGV[i + 4] ~= '' then
    redis.call('HSET', KEYS[3], ARGV[i] .. '#data', ARGV[i + 4])
    if ARGV[i] == 'own' then
      redis.call('HSET', KEYS[4], ARGV[i + 1], ARGV[i + 4])
      redis.call('HDEL', KEYS[4], tostring(tonumber(ARGV[i + 1]) - keep))
    end
  end
end
return {'OK'}`,
);

/**
 * The sign state, read only by the lease holder at its epoch (so that every
 * write of an earlier holder on this server is already in it).
 * ARGV: id, epoch. -> {'OK', field, value, ...} | {'FENCED', why}
 */
/**
 * Own lane blocks by number, read only by the lease holder at its epoch.
 * ARGV: id, epoch, numbers... -> {'OK', block|false, ...} | {'FENCED', why}
 */
export const READ_OWN = script(
  "readOwn",
  4,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'FENCED', 'lease'} end
local e = tonumber(redis.call('GET', KEYS[2]) or '0')
if e > tonumber(ARGV[2]) then return {'FENCED', 'epoch'} end
local out = {'OK'}
for i = 3, #ARGV do out[#out + 1] = redis.call('HGET', KEYS[4], ARGV[i]) end
return out`,
);

export const READ = script(
  "read",
  3,
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'FENCED', 'lease'} end
local e = tonumber(redis.call('GET', KEYS[2]) or '0')
if e > tonumber(ARGV[2]) then return {'FENCED', 'epoch'} end
local out = {'OK'}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all do out[#out + 1] = all[i] end
return out`,
);

/**
 * The Lua scripts that are the only writers of the registration keys (layout in `redis-keys.ts`).
 * One script call per AoR update, so many registrar instances can update one AoR at once without
 * a lost update. They are the twin of `apply.ts`: change one, change the other; the shared
 * contract suite runs both.
 *
 * Binding JSON is built by the caller and stored as given; the scripts decode it only to read
 * `expiresAt`, `callId`, `cseq` and `flow.edgeId`, and re-encode it only in `DROP_FLOWS` (where
 * cjson turns an empty `path` array into `{}`; the reader accepts that as "no Path").
 *
 * Edge-index keys are derived inside the scripts from the bindings they read, so the scripts need
 * a standalone (or Sentinel-managed) Redis, not Redis Cluster. `PEXPIREAT … GT` needs Redis 7.
 */

/**
 * Shared prologue: reads the AoR hash into `live` (field → {json, exp, callId, cseq, edge}),
 * `stale` (fields of expired bindings) and `edgesBefore` (edges any stored binding had a flow on).
 */
const READ_AOR = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local raw = redis.call('HGETALL', key)
local live, stale, edgesBefore = {}, {}, {}
local nlive = 0
for i = 1, #raw, 2 do
  local b = cjson.decode(raw[i + 1])
  local edge = false
  if type(b.flow) == 'table' and type(b.flow.edgeId) == 'string' then
    edge = b.flow.edgeId
    edgesBefore[edge] = true
  end
  if b.expiresAt > now then
    live[raw[i]] = { json = raw[i + 1], exp = b.expiresAt, callId = b.callId, cseq = b.cseq, edge = edge }
    nlive = nlive + 1
  else
    stale[#stale + 1] = raw[i]
  end
end
`;

/**
 * Writes the new state: deletes the key when nothing is live, else removes gone fields, writes
 * new ones and sets the key to expire with its last binding; then moves the AoR in and out of the
 * per-edge sets, each of which expires with the last binding that put an AoR in it.
 */
const WRITE_AOR = `
local function at(ms) return string.format('%.0f', ms) end
if nlive == 0 then
  redis.call('DEL', key)
else
  local del = {}
  for _, f in ipairs(stale) do del[#del + 1] = f end
  for f in pairs(gone) do del[#del + 1] = f end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
  local set = {}
  for f, json in pairs(written) do
    set[#set + 1] = f
    set[#set + 1] = json
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
  local last = 0
  for _, b in pairs(live) do if b.exp > last then last = b.exp end end
  redis.call('PEXPIREAT', key, at(last))
end
local edgesAfter = {}
for _, b in pairs(live) do
  if b.edge and (edgesAfter[b.edge] == nil or b.exp > edgesAfter[b.edge]) then edgesAfter[b.edge] = b.exp end
end
for e in pairs(edgesBefore) do
  if edgesAfter[e] == nil then redis.call('SREM', edgePrefix .. e .. '}', aor) end
end
for e, exp in pairs(edgesAfter) do
  local ek = edgePrefix .. e .. '}'
  redis.call('SADD', ek, aor)
  if redis.call('PTTL', ek) == -1 then
    redis.call('PEXPIREAT', ek, at(exp))
  else
    redis.call('PEXPIREAT', ek, at(exp), 'GT')
  end
end
local out = { 'ok' }
for _, b in pairs(live) do out[#out + 1] = b.json end
return out
`;

/**
 * KEYS[1] = AoR hash.
 * ARGV: now, maxContacts, callId, cseq, edge-key prefix (`…edge-aors:{`), aor, edgeId of the
 * request's flow ('' for none), then per Contact: field, expiresAt, binding JSON ('' removes the binding).
 * Returns { 'ok', json… } or { 'out-of-order' } or { 'too-many-contacts' }.
 */
export const APPLY = `${READ_AOR}
local maxContacts = tonumber(ARGV[2])
local callId = ARGV[3]
local cseq = tonumber(ARGV[4])
local edgePrefix = ARGV[5]
local aor = ARGV[6]
local newEdge = ARGV[7]
if newEdge == '' then newEdge = false end
for j = 8, #ARGV, 3 do
  local cur = live[ARGV[j]]
  if cur and cur.callId == callId and cur.cseq >= cseq then return { 'out-of-order' } end
end
local gone, written = {}, {}
for j = 8, #ARGV, 3 do
  local f, exp, json = ARGV[j], tonumber(ARGV[j + 1]), ARGV[j + 2]
  if json == '' then
    if live[f] then
      live[f] = nil
      nlive = nlive - 1
    end
    written[f] = nil
    gone[f] = true
  else
    if not live[f] then nlive = nlive + 1 end
    live[f] = { json = json, exp = exp, edge = newEdge }
    written[f] = json
    gone[f] = nil
  end
end
if nlive > maxContacts then return { 'too-many-contacts' } end
${WRITE_AOR}`;

/**
 * KEYS[1] = AoR hash. ARGV: now, callId, cseq, edge-key prefix, aor.
 * Returns { 'ok' } or { 'out-of-order' }.
 */
export const REMOVE_ALL = `${READ_AOR}
local callId = ARGV[2]
local cseq = tonumber(ARGV[3])
local edgePrefix = ARGV[4]
local aor = ARGV[5]
for _, cur in pairs(live) do
  if cur.callId == callId and cur.cseq >= cseq then return { 'out-of-order' } end
end
live, nlive = {}, 0
local gone, written = {}, {}
${WRITE_AOR}`;

/** KEYS[1] = AoR hash. ARGV: now (unused, READ_AOR wants it), edge-key prefix, aor. */
export const CLEAR = `${READ_AOR}
local edgePrefix = ARGV[2]
local aor = ARGV[3]
redis.call('DEL', key)
for e in pairs(edgesBefore) do redis.call('SREM', edgePrefix .. e .. '}', aor) end
return 1
`;

/**
 * KEYS[1] = AoR hash, KEYS[2] = the edge's AoR set. ARGV: now, edgeId, aor.
 * Clears `flow` from the AoR's live bindings on that edge, deletes its expired ones (the key's
 * expiry already covers the rest), and takes the AoR out of the edge's set. Returns 1 when a live
 * binding changed.
 */
export const DROP_FLOWS = `
local now = tonumber(ARGV[1])
local edgeId = ARGV[2]
local raw = redis.call('HGETALL', KEYS[1])
local touched = 0
local stale = {}
for i = 1, #raw, 2 do
  local b = cjson.decode(raw[i + 1])
  if b.expiresAt <= now then
    stale[#stale + 1] = raw[i]
  elseif type(b.flow) == 'table' and b.flow.edgeId == edgeId then
    b.flow = nil
    redis.call('HSET', KEYS[1], raw[i], cjson.encode(b))
    touched = 1
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
redis.call('SREM', KEYS[2], ARGV[3])
return touched
`;

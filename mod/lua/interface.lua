-- clusterio mod: the "clusterio" remote interface the slave calls over RCON. Each function takes
-- one JSON string, validates it fully before changing anything, and answers with exactly one
-- rcon.print of a JSON object. The contract is docs/mod-interface.md.

local core = require("lua.core")
local getters = require("lua.getters")
local signals = require("lua.signals")

local interface = {}

local MAX_COUNT = 2 ^ 53

local function reply(t) rcon.print(helpers.table_to_json(t)) end

--- Parses the argument; returns the table or nil after answering with the reason.
local function parse(arg)
  core.ensure_storage()
  storage.last_call = game.tick -- any call from the slave counts as a ping
  if type(arg) ~= "string" then
    reply({ error = "argument must be a JSON string" })
    return nil
  end
  local t = helpers.json_to_table(arg)
  if type(t) ~= "table" then
    reply({ error = "argument is not a JSON object" })
    return nil
  end
  return t
end

local function is_count(n, allow_zero)
  return type(n) == "number" and n == math.floor(n) and n <= MAX_COUNT
      and (n > 0 or (allow_zero and n == 0))
end

local function is_id(g)
  return (type(g) == "number" and g == math.floor(g) and g >= 0 and g <= MAX_COUNT)
      or (type(g) == "string" and #g > 0 and #g <= 200)
end

--- A JSON array of values that pass `ok`, or nil.
local function list_of(v, ok)
  if type(v) ~= "table" then return nil end
  for i = 1, #v do if not ok(v[i]) then return nil end end
  for k in pairs(v) do if type(k) ~= "number" then return nil end end
  return v
end

local function is_transferable(name)
  return type(name) == "string" and (prototypes.item[name] ~= nil or prototypes.fluid[name] ~= nil)
end

--- Why an item's quality as the slave sends it (absent for normal, never "normal" spelled) is
--- not one this world has for the item, or nil. Fluids have no quality.
local function bad_quality(name, quality)
  if quality == nil then return nil end
  if type(quality) ~= "string" or quality == "normal" then return "quality must be left out for normal, or a quality name" end
  if prototypes.quality[quality] == nil then return "unknown quality" end
  if prototypes.item[name] == nil then return "a fluid has no quality" end
  return nil
end

function interface.set_batch_floor(arg)
  local t = parse(arg)
  if not t then return end
  if not is_count(t.next_batch, true) then return reply({ error = "next_batch must be a non-negative integer" }) end
  if t.next_batch > storage.next_batch then storage.next_batch = t.next_batch end
  reply({ ok = true, next_batch = storage.next_batch })
end

function interface.pending_exports(arg)
  if not parse(arg) then return end
  local nums = {}
  for n in pairs(storage.batches) do nums[#nums + 1] = n end
  table.sort(nums)
  local out = {}
  for i, n in ipairs(nums) do out[i] = { batch = n, items = core.sorted_pairs(storage.batches[n]) } end
  reply({ batches = out, floor = core.export_floor() })
end

function interface.ack_exports(arg)
  local t = parse(arg)
  if not t then return end
  local list = list_of(t.batches, function(n) return is_count(n, true) end)
  if not list then return reply({ error = "batches must be a list of batch numbers" }) end
  local dropped = {}
  for _, n in ipairs(list) do
    if storage.batches[n] then
      storage.batches[n] = nil
      dropped[#dropped + 1] = n
    end
  end
  reply({ dropped = dropped })
end

local function check_grant(g)
  if type(g) ~= "table" then return "grant must be an object" end
  if not is_id(g.grant_id) then return "grant_id must be a non-negative integer or a string" end
  if not is_transferable(g.name) then return "unknown item or fluid name" end
  if not is_count(g.count) then return "count must be a positive integer" end
  return bad_quality(g.name, g.quality)
end

function interface.apply_grants(arg)
  local t = parse(arg)
  if not t then return end
  local grants = list_of(t.grants, function() return true end)
  if not grants then return reply({ error = "grants must be a list" }) end
  local results = {}
  for i, g in ipairs(grants) do
    local why = check_grant(g)
    local id = type(g) == "table" and g.grant_id or nil
    if why then
      results[i] = { grant_id = is_id(id) and id or nil, status = "rejected", reason = why }
    else
      local key = tostring(id)
      local seen = storage.grants[key]
      if seen == "applied" then
        results[i] = { grant_id = id, status = "duplicate" }
      elseif seen == "cancelled" then
        results[i] = { grant_id = id, status = "cancelled" }
      else
        storage.grants[key] = "applied"
        storage.grants_applied = storage.grants_applied + 1
        getters.distribute(core.item_key(g.name, g.quality or "normal"), g.count)
        results[i] = { grant_id = id, status = "applied" }
      end
    end
  end
  reply({ results = results, applied = storage.grants_applied })
end

function interface.cancel_grants(arg)
  local t = parse(arg)
  if not t then return end
  local ids = list_of(t.grant_ids, is_id)
  if not ids then return reply({ error = "grant_ids must be a list of grant ids" }) end
  local results = {}
  for i, id in ipairs(ids) do
    local key = tostring(id)
    if storage.grants[key] == "applied" then
      results[i] = { grant_id = id, status = "applied" }
    else
      storage.grants[key] = "cancelled"
      results[i] = { grant_id = id, status = "cancelled" }
    end
  end
  reply({ results = results })
end

function interface.forget_grants(arg)
  local t = parse(arg)
  if not t then return end
  local ids = list_of(t.grant_ids, is_id)
  if not ids then return reply({ error = "grant_ids must be a list of grant ids" }) end
  local n = 0
  for _, id in ipairs(ids) do
    local key = tostring(id)
    if storage.grants[key] then
      storage.grants[key] = nil
      n = n + 1
    end
  end
  reply({ forgotten = n })
end

local function is_pair(p)
  return type(p) == "table" and type(p[1]) == "string" and type(p[2]) == "number" and p[2] == p[2]
end

--- [name, count] or [name, count, quality].
local function is_level(p)
  return is_pair(p) and (p[3] == nil or type(p[3]) == "string")
end

--- [name, value], [name, value, type] or [name, value, type, quality], spelled as the slave
--- spells them: the type "item" only before a quality, never the quality "normal".
local function is_signal(p)
  if not is_pair(p) or #p > 4 then return false end
  if p[3] == nil then return true end
  if type(p[3]) ~= "string" then return false end
  if p[4] == nil then return p[3] ~= "item" end
  return type(p[4]) == "string" and p[4] ~= "normal"
end

function interface.set_inventory(arg)
  local t = parse(arg)
  if not t then return end
  local levels = list_of(t.levels, is_level)
  if not levels then return reply({ error = "levels must be a list of [name, count] or [name, count, quality]" }) end
  if type(t.time_ms) ~= "number" then return reply({ error = "time_ms must be a number" }) end
  if t.full then storage.levels = {} end
  local level_type = signals.level_types()
  for _, p in ipairs(levels) do
    -- Levels this world cannot show (no such prototype or quality here) are left out.
    if level_type(p[1]) and not bad_quality(p[1], p[3]) then
      storage.levels[core.item_key(p[1], p[3] or "normal")] = p[2] ~= 0 and core.clamp(p[2]) or nil
    end
  end
  storage.unixtime = core.clamp(t.time_ms / 1000)
  signals.update_inventory_combinators()
  reply({ ok = true })
end

function interface.ping(arg)
  if not parse(arg) then return end
  reply({ ok = true, tick = game.tick })
end

function interface.receive_signals(arg)
  local t = parse(arg)
  if not t then return end
  local function is_key(v) return (type(v) == "string" and #v > 0) or type(v) == "number" end
  if not is_key(t.channel) then return reply({ error = "channel must be a string or number" }) end
  if t.source ~= nil and not is_key(t.source) then return reply({ error = "source must be a string or number" }) end
  local list = list_of(t.signals, is_signal)
  if not list then return reply({ error = "signals must be a list of [name, value(, type(, quality))]" }) end
  local channel = tostring(t.channel)
  local frame = signals.received_frame(list)
  if t.source == nil then
    -- The channel's whole input (the slave's, from the master's sum): it replaces every source.
    storage.rx_frames[channel] = next(frame) and { [""] = frame } or nil
  else
    storage.rx_frames[channel] = storage.rx_frames[channel] or {}
    storage.rx_frames[channel][tostring(t.source)] = next(frame) and frame or nil
  end
  signals.update_receivers(channel)
  reply({ ok = true })
end

function interface.status(arg)
  if not parse(arg) then return end
  local pending = 0
  for _ in pairs(storage.batches) do pending = pending + 1 end
  reply({ tick = game.tick, players = #game.connected_players, paused = core.paused(),
          pending_exports = pending, buffered = core.by_quality(storage.buffer), held_back = core.held_back(),
          signals_not_shown = signals.not_shown(), receivers = signals.receiver_channels() })
end

return interface

-- clusterio mod: world-side work (exports, requests, grant delivery, combinators, IPC).
-- All persistent state is in `storage` (see init_storage); the slave-facing contract is at the
-- top of control.lua.

local core = {}

--- Transfers pause after this many ticks without a call from the slave.
local SILENCE_TICKS = 300
--- Larger IPC payloads go through a file: bigger stdout lines stutter consoles.
local IPC_MAX_BYTES = 4000
local INT32_MAX, INT32_MIN = 2147483647, -2147483648

local kinds = {
  ["put-chest"] = "put_chests", ["get-chest"] = "get_chests",
  ["put-tank"] = "put_tanks", ["get-tank"] = "get_tanks",
  ["transmitter-combinator"] = "transmitters", ["receiver-combinator"] = "receivers",
  ["inventory-combinator"] = "inventory_combinators",
}

--- Fills in every `storage` field a save lacks; idempotent.
function core.init_storage()
  local s = storage
  s.lists = s.lists or {}          -- kind -> array of {e=entity, unit=unit_number}
  for _, list in pairs(kinds) do s.lists[list] = s.lists[list] or {} end
  s.known = s.known or {}            -- unit_number -> true for registered entities
  s.next_batch = s.next_batch or 1   -- number of the next export batch
  s.batches = s.batches or {}        -- batch number -> {[name]=count}, until acknowledged
  s.open = s.open or {}              -- exports collected this cycle
  s.request = s.request or {}        -- missing amounts collected this cycle
  s.request_of = s.request_of or {}  -- unit -> {[name]=missing} its visit added to s.request
  s.grants = s.grants or {}          -- tostring(grant_id) -> "applied" | "cancelled"
  s.grants_applied = s.grants_applied or 0 -- grants ever applied: dates request reports
  s.buffer = s.buffer or {}          -- granted amounts that did not fit yet
  s.wants = s.wants or {}            -- unit -> {[name]=wanted} as last seen
  s.wanting = s.wanting or {}        -- name -> {[unit]=entity}: getters that want it
  s.file_no = s.file_no or 0
  s.tx = s.tx or {}                  -- transmitter unit -> {channel=, frame={[name]=v}}
  s.tx_sums = s.tx_sums or {}        -- channel -> {[name]=v}
  s.tx_dirty = s.tx_dirty or {}      -- channel -> true
  s.tx_sent = s.tx_sent or {}        -- channel -> JSON last sent
  s.rx_frames = s.rx_frames or {}    -- channel -> source -> {[name]=v}
  s.rx_channel = s.rx_channel or {}  -- receiver unit -> channel
  s.levels = s.levels or {}          -- cluster storage levels for inventory combinators
  s.unixtime = s.unixtime or 0
end

local storage_checked = false -- per Lua session, not saved
--- Factorio runs on_configuration_changed only when a mod's version changes, so a save made by
--- an earlier build of this version may lack fields added since: on_tick and every remote call
--- fill them in first, once per session. (A client joining later receives storage already
--- filled, so this writes nothing there: no desync.)
function core.ensure_storage()
  if storage_checked then return end
  core.init_storage()
  storage_checked = true
end

function core.register(e)
  if not (e and e.valid) then return end
  local list = kinds[e.name]
  if not list or storage.known[e.unit_number] then return end
  storage.known[e.unit_number] = true
  -- The unit number is kept beside the entity: an invalid entity can no longer tell it.
  table.insert(storage.lists[list], { e = e, unit = e.unit_number })
  if list == "receivers" then core.visit_receiver(e) end
  if list == "inventory_combinators" then core.write_inventory(e) end
end

function core.scan_world()
  local names = {}
  for name in pairs(kinds) do names[#names + 1] = name end
  for _, surface in pairs(game.surfaces) do
    for _, e in ipairs(surface.find_entities_filtered({ name = names })) do core.register(e) end
  end
end

function core.paused()
  local last = storage.last_call
  return last == nil or game.tick - last > SILENCE_TICKS
end

---------------------------------------------------------------------------------------------------
-- Item and fluid filter (map settings), cached until a setting changes.

local filter -- nil = not computed; {mode=, names={}}

function core.reset_filter() filter = nil end

function core.allowed(name)
  if not filter then
    filter = { mode = settings.global["clusterio-filter-mode"].value, names = {} }
    for n in string.gmatch(settings.global["clusterio-filter-list"].value, "[^,%s]+") do
      filter.names[n] = true
    end
  end
  if filter.mode == "blacklist" then return not filter.names[name] end
  if filter.mode == "whitelist" then return filter.names[name] == true end
  return true
end

---------------------------------------------------------------------------------------------------
-- IPC to the slave.

function core.send_ipc(channel, data)
  local json = helpers.table_to_json(data)
  if #json > IPC_MAX_BYTES then
    storage.file_no = storage.file_no + 1
    local name = "clusterio_" .. game.tick .. "_" .. storage.file_no .. ".json"
    helpers.write_file(name, json, false, 0)
    print("\f$ipc:" .. channel .. "?f" .. name)
  else
    print("\f$ipc:" .. channel .. "?j" .. json)
  end
end

local function sorted_pairs(map)
  local out = {}
  for name, count in pairs(map) do out[#out + 1] = { name, count } end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end
core.sorted_pairs = sorted_pairs

function core.export_floor()
  local floor = storage.next_batch
  for n in pairs(storage.batches) do if n < floor then floor = n end end
  return floor
end

function core.close_batch()
  if next(storage.open) == nil then return end
  local n = storage.next_batch
  storage.batches[n] = storage.open
  storage.open = {}
  storage.next_batch = n + 1
  core.send_ipc("export", { batch = n, floor = core.export_floor(), items = sorted_pairs(storage.batches[n]) })
end

--- Ends a cycle's request: the next cycle collects anew.
function core.clear_requests()
  storage.request = {}
  storage.request_of = {}
end

--- Units given to a getter that was visited this cycle no longer miss: take them off the
--- request, or a grant that lands mid-cycle (items newly in stock are asked for at once) is
--- asked for again at the end of the cycle, and granted twice.
local function reduce_request(unit, name, given)
  local of = storage.request_of[unit]
  local m = of and of[name]
  if not m or given <= 0 then return end
  local d = math.min(m, given)
  of[name] = m - d
  storage.request[name] = storage.request[name] - d
end

function core.send_requests()
  local list = {}
  for name, missing in pairs(storage.request) do
    local m = missing - (storage.buffer[name] or 0)
    if m > 0 then list[#list + 1] = { name, m } end
  end
  if #list == 0 then return end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  core.send_ipc("request", { items = list, applied = storage.grants_applied })
end

---------------------------------------------------------------------------------------------------
-- Putters.

local function add(map, name, n) map[name] = (map[name] or 0) + n end

function core.empty_put_chest(e)
  local inv = e.get_inventory(defines.inventory.chest)
  for _, it in ipairs(inv.get_contents()) do
    if it.quality == "normal" and core.allowed(it.name) then
      local removed = inv.remove({ name = it.name, count = it.count })
      if removed > 0 then add(storage.open, it.name, removed) end
    end
  end
end

function core.empty_put_tank(e)
  local fb = e.fluidbox
  local f = fb[1]
  if not f or not core.allowed(f.name) then return end
  local take = math.floor(f.amount)
  if take <= 0 then return end
  local rest = f.amount - take
  if rest > 0 then
    fb[1] = { name = f.name, amount = rest, temperature = f.temperature }
  else
    fb[1] = nil
  end
  add(storage.open, f.name, take)
end

---------------------------------------------------------------------------------------------------
-- Getters: what each wants, how much it misses, and delivering into it.

local function wanted(e)
  local out = {}
  if e.type == "storage-tank" then
    local filt = e.fluidbox.get_filter(1)
    if filt and core.allowed(filt.name) then out[filt.name] = e.fluidbox.get_capacity(1) end
    return out
  end
  local sections = e.get_logistic_sections()
  if not sections then return out end
  for _, sec in ipairs(sections.sections) do
    if sec.active then
      for _, f in ipairs(sec.filters) do
        local v = f.value
        if v and v.type == "item" and (v.quality or "normal") == "normal" and (f.min or 0) > 0
            and core.allowed(v.name) then
          out[v.name] = (out[v.name] or 0) + f.min
        end
      end
    end
  end
  return out
end

--- How much of `name` the getter misses, given it wants `want`.
local function missing(e, name, want)
  if e.type == "storage-tank" then
    local f = e.fluidbox[1]
    if f and f.name ~= name then return 0 end -- holding another fluid: leave it alone
    return math.floor(want - (f and f.amount or 0))
  end
  return want - e.get_inventory(defines.inventory.chest).get_item_count(name)
end

--- Puts up to n of `name` into the getter; returns how many went in.
local function deliver(e, name, n)
  if n <= 0 then return 0 end
  if e.type == "storage-tank" then
    local fb = e.fluidbox
    local f = fb[1]
    if f and f.name ~= name then return 0 end
    local room = math.floor(fb.get_capacity(1) - (f and f.amount or 0))
    local give = math.min(n, room)
    if give <= 0 then return 0 end
    fb[1] = { name = name, amount = (f and f.amount or 0) + give, temperature = f and f.temperature }
    return give
  end
  return e.get_inventory(defines.inventory.chest).insert({ name = name, count = n })
end

function core.visit_getter(e)
  local unit = e.unit_number
  local now = wanted(e)
  local before = storage.wants[unit] or {}
  for name in pairs(before) do
    if not now[name] and storage.wanting[name] then storage.wanting[name][unit] = nil end
  end
  for name, want in pairs(now) do
    if not before[name] then
      storage.wanting[name] = storage.wanting[name] or {}
      storage.wanting[name][unit] = e
    end
    local m = missing(e, name, want)
    local buffered = storage.buffer[name]
    if m > 0 and buffered then
      local given = deliver(e, name, math.min(m, buffered))
      if given >= buffered then storage.buffer[name] = nil else storage.buffer[name] = buffered - given end
      m = m - given
    end
    if m > 0 then
      add(storage.request, name, m)
      storage.request_of[unit] = storage.request_of[unit] or {}
      add(storage.request_of[unit], name, m)
    end
  end
  storage.wants[unit] = now
end

--- Splits `count` of `name` among the getters that want it, in proportion to what each
--- misses; what does not fit goes to the buffer. Returns nothing: nothing is ever lost.
function core.distribute(name, count)
  local takers, total = {}, 0
  for unit, e in pairs(storage.wanting[name] or {}) do
    if e.valid then
      local m = missing(e, name, storage.wants[unit][name] or 0)
      if m > 0 then
        takers[#takers + 1] = { e = e, m = m, unit = unit }
        total = total + m
      end
    else
      storage.wanting[name][unit] = nil
    end
  end
  table.sort(takers, function(a, b) return a.unit < b.unit end)
  local left = count
  if total > 0 then
    local ratio = math.min(1, count / total)
    for _, t in ipairs(takers) do
      local give = math.min(math.floor(t.m * ratio), left)
      local got = deliver(t.e, name, give)
      reduce_request(t.unit, name, got)
      t.m = t.m - got
      left = left - got
    end
    -- Rounding leftovers: one at a time to whoever still has room.
    for _, t in ipairs(takers) do
      if left <= 0 then break end
      if t.m > 0 then
        local got = deliver(t.e, name, math.min(t.m, left))
        reduce_request(t.unit, name, got)
        left = left - got
      end
    end
  end
  if left > 0 then add(storage.buffer, name, left) end
end

---------------------------------------------------------------------------------------------------
-- Combinators.

local function clamp(v)
  v = math.floor(v)
  if v > INT32_MAX then return INT32_MAX end
  if v < INT32_MIN then return INT32_MIN end
  return v
end
core.clamp = clamp

--- Signal type of a name (item, fluid or virtual), or nil for unknown names.
function core.signal_type(name)
  if prototypes.item[name] then return "item" end
  if prototypes.fluid[name] then return "fluid" end
  if prototypes.virtual_signal[name] then return "virtual" end
  return nil
end

local function channel_of(e)
  local d = e.combinator_description
  if d == nil or d == "" then return "default" end
  return d
end

local function write_signals(e, map)
  local filters = {}
  for _, pair in ipairs(sorted_pairs(map)) do
    local t = core.signal_type(pair[1])
    if t and pair[2] ~= 0 then
      filters[#filters + 1] = { value = { type = t, name = pair[1], quality = "normal" }, min = clamp(pair[2]) }
    end
  end
  local cb = e.get_or_create_control_behavior()
  local sec = cb.get_section(1) or cb.add_section()
  sec.filters = filters
end

function core.visit_transmitter(e)
  local unit = e.unit_number
  local channel = channel_of(e)
  local frame = {}
  for _, s in ipairs(e.get_signals(defines.wire_connector_id.circuit_red,
                                   defines.wire_connector_id.circuit_green) or {}) do
    frame[s.signal.name] = (frame[s.signal.name] or 0) + s.count
  end
  local old = storage.tx[unit]
  if old and old.channel == channel then
    local same = true
    for k, v in pairs(frame) do if old.frame[k] ~= v then same = false; break end end
    for k in pairs(old.frame) do if frame[k] == nil then same = false; break end end
    if same then return end
  end
  if old then
    local sum = storage.tx_sums[old.channel]
    for k, v in pairs(old.frame) do
      sum[k] = sum[k] - v
      if sum[k] == 0 then sum[k] = nil end
    end
    storage.tx_dirty[old.channel] = true
  end
  storage.tx_sums[channel] = storage.tx_sums[channel] or {}
  local sum = storage.tx_sums[channel]
  for k, v in pairs(frame) do
    sum[k] = (sum[k] or 0) + v
    if sum[k] == 0 then sum[k] = nil end
  end
  storage.tx[unit] = { channel = channel, frame = frame }
  storage.tx_dirty[channel] = true
end

function core.flush_signals()
  if next(storage.tx_dirty) == nil then return end
  -- Transmitters that vanished take their frame with them.
  for unit, t in pairs(storage.tx) do
    if not storage.known[unit] then
      local sum = storage.tx_sums[t.channel]
      for k, v in pairs(t.frame) do
        sum[k] = sum[k] - v
        if sum[k] == 0 then sum[k] = nil end
      end
      storage.tx[unit] = nil
    end
  end
  for channel in pairs(storage.tx_dirty) do
    local signals = {}
    for _, pair in ipairs(sorted_pairs(storage.tx_sums[channel] or {})) do
      signals[#signals + 1] = { pair[1], clamp(pair[2]) }
    end
    local json = helpers.table_to_json(signals)
    if storage.tx_sent[channel] ~= json then
      storage.tx_sent[channel] = json
      core.send_ipc("signal", { channel = channel, signals = signals })
    end
  end
  storage.tx_dirty = {}
end

--- The per-channel sum of every source's latest frame.
function core.rx_sum(channel)
  local sum = {}
  for _, frame in pairs(storage.rx_frames[channel] or {}) do
    for k, v in pairs(frame) do sum[k] = (sum[k] or 0) + v end
  end
  return sum
end

function core.visit_receiver(e)
  local channel = channel_of(e)
  if storage.rx_channel[e.unit_number] ~= channel then
    storage.rx_channel[e.unit_number] = channel
    write_signals(e, core.rx_sum(channel))
  end
end

function core.update_receivers(channel)
  local sum = core.rx_sum(channel)
  for _, r in ipairs(storage.lists.receivers) do
    local e = r.e
    if e.valid and storage.rx_channel[e.unit_number] == channel then write_signals(e, sum) end
  end
end

function core.write_inventory(e)
  local map = {}
  for k, v in pairs(storage.levels) do map[k] = v end
  map["signal-unixtime"] = storage.unixtime
  write_signals(e, map)
end

function core.update_inventory_combinators()
  for _, r in ipairs(storage.lists.inventory_combinators) do
    if r.e.valid then core.write_inventory(r.e) end
  end
end

return core

-- clusterio mod: state, entity registration, pausing, the filter setting, IPC, export batches
-- and request reports. All persistent state is in `storage` (see init_storage); the
-- slave-facing contract is docs/mod-interface.md.

local core = {}

--- Transfers pause after this many ticks without a call from the slave.
local SILENCE_TICKS = 300
--- Larger IPC payloads go through a file: bigger stdout lines stutter consoles.
local IPC_MAX_BYTES = 4000
local INT32_MAX, INT32_MIN = 2147483647, -2147483648
--- Layout of `storage` this code writes; older saves are brought up to it by init_storage.
local SCHEMA = 2

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
  s.held_back_of = s.held_back_of or {} -- put-chest unit -> {[name]={[quality]=count}} left in it
  s.request = s.request or {}        -- missing amounts collected this cycle
  s.request_of = s.request_of or {}  -- unit -> {[name]=missing} its visit added to s.request
  s.grants = s.grants or {}          -- tostring(grant_id) -> "applied" | "cancelled"
  s.grants_applied = s.grants_applied or 0 -- grants ever applied: dates request reports
  s.buffer = s.buffer or {}          -- granted amounts that did not fit yet
  s.wants = s.wants or {}            -- unit -> {[name]=wanted} as last seen
  s.wanting = s.wanting or {}        -- name -> {[unit]=entity}: getters that want it
  s.tank_fluid = s.tank_fluid or {}  -- get-tank unit -> the fluid its owner chose
  s.removed_tanks = s.removed_tanks or {} -- position key -> {fluid=, seq=} of removed get-tanks
  s.removed_seq = s.removed_seq or 0
  s.file_no = s.file_no or 0
  if (s.schema or 1) < 2 then
    -- Transmitter frames were keyed by name alone; they are rebuilt, keyed by full signal id,
    -- as transmitters are next visited (tx_sent keeps unchanged channels from being resent).
    s.tx, s.tx_sums, s.tx_dirty = {}, {}, {}
  end
  s.tx = s.tx or {}                  -- transmitter unit -> {channel=, frame={[signal key]=v}}
  s.tx_sums = s.tx_sums or {}        -- channel -> {[signal key]=v}
  s.tx_dirty = s.tx_dirty or {}      -- channel -> true
  s.tx_sent = s.tx_sent or {}        -- channel -> JSON last sent
  s.tx_unsent = s.tx_unsent or {}    -- channel -> signals the wire cannot carry yet
  s.rx_frames = s.rx_frames or {}    -- channel -> source -> {[name]=v}
  s.rx_channel = s.rx_channel or {}  -- receiver unit -> channel
  s.not_shown = s.not_shown or {}    -- combinator unit -> signals it had no room to output
  s.levels = s.levels or {}          -- cluster storage levels for inventory combinators
  s.unixtime = s.unixtime or 0
  s.schema = SCHEMA
end

local storage_checked = false -- per Lua session, not saved
--- Factorio runs on_configuration_changed only when the mod set or a version changes, so a
--- save made by an earlier build of this version may lack fields added since: on_tick and
--- every remote call fill them in first, once per session. (A client joining later receives
--- storage already filled, so this writes nothing there: no desync.)
function core.ensure_storage()
  if storage_checked then return end
  core.init_storage()
  storage_checked = true
end

--- Called with each newly registered entity (set by control.lua).
core.on_register = function() end

function core.register(e)
  if not (e and e.valid) then return end
  local list = kinds[e.name]
  if not list or storage.known[e.unit_number] then return end
  storage.known[e.unit_number] = true
  -- The unit number is kept beside the entity: an invalid entity can no longer tell it.
  table.insert(storage.lists[list], { e = e, unit = e.unit_number })
  core.on_register(e, list)
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

local function add(map, name, n) map[name] = (map[name] or 0) + n end
core.add = add

function core.clamp(v)
  v = math.floor(v)
  if v > INT32_MAX then return INT32_MAX end
  if v < INT32_MIN then return INT32_MIN end
  return v
end

--- The name of a quality, read as a name, a LuaQualityPrototype or nil (normal): the API
--- documents more than one of these for the places quality is read from.
function core.quality_name(q)
  if q == nil then return "normal" end
  if type(q) == "string" then return q end
  return q.name
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
-- IPC to the slave, export batches and request reports.

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
function core.reduce_request(unit, name, given)
  local of = storage.request_of[unit]
  local m = of and of[name]
  if not m or given <= 0 then return end
  local d = math.min(m, given)
  of[name] = m - d
  storage.request[name] = storage.request[name] - d
end

function core.add_request(unit, name, missing)
  add(storage.request, name, missing)
  storage.request_of[unit] = storage.request_of[unit] or {}
  add(storage.request_of[unit], name, missing)
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

--- Items left in put-chests: {[name]={[quality]=count}} over all of them.
function core.held_back()
  local out = {}
  for _, held in pairs(storage.held_back_of) do
    for name, by_quality in pairs(held) do
      out[name] = out[name] or {}
      for q, n in pairs(by_quality) do out[name][q] = (out[name][q] or 0) + n end
    end
  end
  return out
end

return core

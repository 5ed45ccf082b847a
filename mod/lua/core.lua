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
local SCHEMA = 3

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
  -- Items are kept by core.item_key (a name alone for normal quality, as saves from before
  -- qualities travelled kept them).
  s.batches = s.batches or {}        -- batch number -> {[item key]=count}, until acknowledged
  s.open = s.open or {}              -- exports collected this cycle
  s.held_back_of = s.held_back_of or {} -- put-chest unit -> {[name]={[quality]=count}} left in it
  s.request = s.request or {}        -- missing amounts collected this cycle, by item key
  s.request_of = s.request_of or {}  -- unit -> {[item key]=missing} its visit added to s.request
  s.grants = s.grants or {}          -- tostring(grant_id) -> "applied" | "cancelled"
  s.grants_applied = s.grants_applied or 0 -- grants ever applied: dates request reports
  s.buffer = s.buffer or {}          -- item key -> granted amount that did not fit yet
  s.wants = s.wants or {}            -- unit -> {[item key]=wanted} as last seen
  s.wanting = s.wanting or {}        -- item key -> {[unit]=entity}: getters that want it
  s.tank_fluid = s.tank_fluid or {}  -- get-tank unit -> the fluid its owner chose
  s.removed_tanks = s.removed_tanks or {} -- position key -> {fluid=, seq=} of removed get-tanks
  s.removed_seq = s.removed_seq or 0
  s.file_no = s.file_no or 0
  if (s.schema or 1) < 3 then
    -- Transmitter frames were keyed otherwise (by name, then by another spelling of the full
    -- id); they are rebuilt as transmitters are next visited (tx_sent keeps unchanged channels
    -- from being resent, and sends those that now carry more). Received frames were keyed by
    -- name: they are dropped, and every source's next repeat (at most 3 s away) brings its
    -- frame back; receivers are rewritten at their next visit.
    s.tx, s.tx_sums, s.tx_dirty, s.tx_unsent = {}, {}, {}, nil
    s.rx_frames, s.rx_channel = {}, {}
  end
  s.tx = s.tx or {}                  -- transmitter unit -> {channel=, frame={[signal key]=v}}
  s.tx_sums = s.tx_sums or {}        -- channel -> {[signal key]=v}
  s.tx_dirty = s.tx_dirty or {}      -- channel -> true
  s.tx_sent = s.tx_sent or {}        -- channel -> JSON last sent
  s.rx_frames = s.rx_frames or {}    -- channel -> source -> {[signal key]=v}
  s.rx_channel = s.rx_channel or {}  -- receiver unit -> channel
  s.rx_changed = s.rx_changed or false -- rx_channel changed since the receivers' channels were last announced
  s.rx_sent = s.rx_sent or ""        -- JSON of the channel list last announced
  s.not_shown = s.not_shown or {}    -- combinator unit -> signals it had no room to output
  s.levels = s.levels or {}          -- item key -> cluster storage level, for inventory combinators
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

--- Separates a name from a quality in an item key: a control character, which no item, fluid or
--- quality name contains (the slave refuses such names), so a key splits back in one way only.
local KEY_SEPARATOR = "\31"

--- The key an item of a quality is kept by: its name for normal quality, else name, U+001F,
--- quality; the slave and master key items the same way.
function core.item_key(name, quality)
  if quality == "normal" then return name end
  return name .. KEY_SEPARATOR .. quality
end

--- The name and quality of an item key.
function core.item_of_key(key)
  local at = string.find(key, KEY_SEPARATOR, 1, true)
  if not at then return key, "normal" end
  return string.sub(key, 1, at - 1), string.sub(key, at + 1)
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

--- One entry of a list to the slave: {name, count} for normal quality, else {name, count, quality}.
local function entry(key, count)
  local name, quality = core.item_of_key(key)
  if quality == "normal" then return { name, count } end
  return { name, count, quality }
end

--- A {[item key]=count} map as a list of entries, sorted by key (one order, whatever `pairs` does).
local function sorted_pairs(map)
  local keys = {}
  for key in pairs(map) do keys[#keys + 1] = key end
  table.sort(keys)
  local out = {}
  for i, key in ipairs(keys) do out[i] = entry(key, map[key]) end
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
function core.reduce_request(unit, key, given)
  local of = storage.request_of[unit]
  local m = of and of[key]
  if not m or given <= 0 then return end
  local d = math.min(m, given)
  of[key] = m - d
  storage.request[key] = storage.request[key] - d
end

function core.add_request(unit, key, missing)
  add(storage.request, key, missing)
  storage.request_of[unit] = storage.request_of[unit] or {}
  add(storage.request_of[unit], key, missing)
end

function core.send_requests()
  local still = {}
  for key, missing in pairs(storage.request) do
    local m = missing - (storage.buffer[key] or 0)
    if m > 0 then still[key] = m end
  end
  if next(still) == nil then return end
  core.send_ipc("request", { items = sorted_pairs(still), applied = storage.grants_applied })
end

--- A {[item key]=count} map as {[name]={[quality]=count}}: how status shows items.
function core.by_quality(map)
  local out = {}
  for key, n in pairs(map) do
    local name, quality = core.item_of_key(key)
    out[name] = out[name] or {}
    out[name][quality] = n
  end
  return out
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

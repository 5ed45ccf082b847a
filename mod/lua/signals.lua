-- clusterio mod: transmitter, receiver and inventory combinators.
--
-- A signal is its full id: type, name and quality (a signal read without a type is an item,
-- without a quality normal). Transmitters send every signal with its full id and receivers
-- output each as itself. To the slave a signal is [name, value] for a normal-quality item,
-- [name, value, type] for another type of normal quality and [name, value, type, quality] for
-- any other quality (docs/mod-interface.md). A world with no prototype for a received signal's
-- type and name, or for its quality, drops it: the game could not show it.
--
-- A combinator section holds at most 1,000 filters: output uses as many of the combinator's
-- sections as it needs, never a section that belongs to a logistic group (writing it would
-- change every member of the group); what does not fit is dropped and counted in `status`.

local core = require("lua.core")

local signals = {}

--- utility-constants' max_logistic_filter_count.
local MAX_FILTERS = 1000

--- Each SignalIDType's table in `prototypes`.
local PROTOTYPES = {
  item = "item", fluid = "fluid", virtual = "virtual_signal", entity = "entity", recipe = "recipe",
  ["space-location"] = "space_location", ["asteroid-chunk"] = "asteroid_chunk", quality = "quality",
}

--- The key a signal is kept by: type, U+001F, name, U+001F, quality, as the slave and master
--- key signals (wire::signal_key). No name, type or quality contains a control character.
local function key_of(t, name, quality) return t .. "\31" .. name .. "\31" .. quality end

local function parse_key(key)
  return key:match("^([^\31]+)\31([^\31]+)\31([^\31]+)$")
end

--- A function telling whether this world has a signal: a prototype of its type and name, and
--- its quality. Made once per pass over many signals: each read of a `prototypes` table costs.
local function signals_known()
  local tables = {}
  local function has(kind, name)
    tables[kind] = tables[kind] or prototypes[kind]
    return tables[kind][name] ~= nil
  end
  return function(t, name, quality)
    return PROTOTYPES[t] ~= nil and has(PROTOTYPES[t], name) and has("quality", quality)
  end
end

--- A function giving the signal type a storage level shows as: item or fluid, or nil for a name
--- this world lacks. Made once per pass over the levels, as signals_known.
function signals.level_types()
  local items, fluids = prototypes.item, prototypes.fluid
  return function(name)
    if items[name] then return "item" end
    if fluids[name] then return "fluid" end
    return nil
  end
end

--- A signal as the slave reads it: the type only when not item or before a quality, the
--- quality only when not normal.
local function wire_entry(key, value)
  local t, name, quality = parse_key(key)
  if quality ~= "normal" then return { name, value, t, quality } end
  if t ~= "item" then return { name, value, t } end
  return { name, value }
end

local function channel_of(e)
  local d = e.combinator_description
  if d == nil or d == "" then return "default" end
  return d
end

--- Writes `filters` into the combinator's own sections (not in a logistic group), adding
--- sections as needed and emptying those it no longer needs.
local function write_filters(e, filters)
  local cb = e.get_or_create_control_behavior()
  local own = {}
  for _, section in ipairs(cb.sections) do
    if section.is_manual and section.group == "" then own[#own + 1] = section end
  end
  while #own * MAX_FILTERS < #filters do
    local section = cb.add_section()
    if not section then break end -- the game allows no more: the rest is dropped, and counted
    own[#own + 1] = section
  end
  for i, section in ipairs(own) do
    local chunk = {}
    for j = (i - 1) * MAX_FILTERS + 1, math.min(i * MAX_FILTERS, #filters) do chunk[#chunk + 1] = filters[j] end
    section.filters = chunk
  end
  local dropped = #filters - #own * MAX_FILTERS
  storage.not_shown[e.unit_number] = dropped > 0 and dropped or nil
end

--- Outputs {[signal key]=value} on the combinator, each signal as itself.
local function write_signals(e, map)
  local keys = {}
  for k, v in pairs(map) do if v ~= 0 then keys[#keys + 1] = k end end
  table.sort(keys) -- one order, whatever `pairs` does
  local filters = {}
  for i, k in ipairs(keys) do
    local t, name, quality = parse_key(k)
    filters[i] = { value = { type = t, name = name, quality = quality }, min = core.clamp(map[k]) }
  end
  write_filters(e, filters)
end

local function subtract(sum, frame)
  for k, v in pairs(frame) do
    sum[k] = sum[k] - v
    if sum[k] == 0 then sum[k] = nil end
  end
end

function signals.visit_transmitter(e)
  local unit = e.unit_number
  local channel = channel_of(e)
  local frame = {}
  for _, s in ipairs(e.get_signals(defines.wire_connector_id.circuit_red,
                                   defines.wire_connector_id.circuit_green) or {}) do
    local id = s.signal
    local k = key_of(id.type or "item", id.name, core.quality_name(id.quality))
    frame[k] = (frame[k] or 0) + s.count
  end
  local old = storage.tx[unit]
  if old and old.channel == channel then
    local same = true
    for k, v in pairs(frame) do if old.frame[k] ~= v then same = false; break end end
    for k in pairs(old.frame) do if frame[k] == nil then same = false; break end end
    if same then return end
  end
  if old then
    subtract(storage.tx_sums[old.channel], old.frame)
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

function signals.flush()
  if next(storage.tx_dirty) == nil then return end
  -- Transmitters that vanished take their frame with them.
  for unit, t in pairs(storage.tx) do
    if not storage.known[unit] then
      subtract(storage.tx_sums[t.channel], t.frame)
      storage.tx[unit] = nil
    end
  end
  for channel in pairs(storage.tx_dirty) do
    local sum = storage.tx_sums[channel] or {}
    local keys = {}
    for k in pairs(sum) do keys[#keys + 1] = k end
    table.sort(keys) -- one order, so that an unchanged sum has an unchanged JSON
    local sent = {}
    for i, k in ipairs(keys) do sent[i] = wire_entry(k, core.clamp(sum[k])) end
    local json = helpers.table_to_json(sent)
    if storage.tx_sent[channel] ~= json then
      storage.tx_sent[channel] = json
      core.send_ipc("signal", { channel = channel, signals = sent })
    end
  end
  storage.tx_dirty = {}
end

--- The per-channel sum of every source's latest frame.
local function rx_sum(channel)
  local sum = {}
  for _, frame in pairs(storage.rx_frames[channel] or {}) do
    for k, v in pairs(frame) do sum[k] = (sum[k] or 0) + v end
  end
  return sum
end

function signals.visit_receiver(e)
  local channel = channel_of(e)
  if storage.rx_channel[e.unit_number] ~= channel then
    storage.rx_channel[e.unit_number] = channel
    storage.rx_changed = true
    write_signals(e, rx_sum(channel))
  end
end

--- Whether a channel could carry signals: the master takes only labels (1..64 bytes of
--- [A-Za-z0-9_.-], not starting with '.'); nothing can arrive on any other.
local function is_channel(c)
  return #c <= 64 and c:match("^[A-Za-z0-9_%-][A-Za-z0-9_%.%-]*$") ~= nil
end

--- The channels this world's receivers use, sorted: the slave subscribes to these only.
function signals.receiver_channels()
  local set, list = {}, {}
  for _, c in pairs(storage.rx_channel) do
    if not set[c] and is_channel(c) then
      set[c] = true
      list[#list + 1] = c
    end
  end
  table.sort(list)
  return list
end

--- Tells the slave the receivers' channels when they changed (also in every `status` reply,
--- which the slave reads after it or the game restarts).
function signals.announce_receivers()
  if not storage.rx_changed then return end
  storage.rx_changed = false
  local list = signals.receiver_channels()
  local json = helpers.table_to_json(list)
  if json == storage.rx_sent then return end
  storage.rx_sent = json
  core.send_ipc("receivers", { channels = list })
end

function signals.update_receivers(channel)
  local sum = rx_sum(channel)
  for _, r in ipairs(storage.lists.receivers) do
    local e = r.e
    if e.valid and storage.rx_channel[e.unit_number] == channel then write_signals(e, sum) end
  end
end

function signals.write_inventory(e)
  local map, level_type = {}, signals.level_types()
  for k, v in pairs(storage.levels) do
    local name, quality = core.item_of_key(k)
    local t = level_type(name) -- nil: a level kept before this world lost the prototype
    if t then map[key_of(t, name, quality)] = v end
  end
  map[key_of("virtual", "signal-unixtime", "normal")] = storage.unixtime
  write_signals(e, map)
end

--- A received frame's entries (their shape checked by the caller) as {[signal key]=v}, without
--- the signals this world does not have.
function signals.received_frame(list)
  local frame, known = {}, signals_known()
  for _, p in ipairs(list) do
    local t, quality = p[3] or "item", p[4] or "normal"
    if known(t, p[1], quality) then
      local k = key_of(t, p[1], quality)
      frame[k] = (frame[k] or 0) + p[2]
    end
  end
  return frame
end

function signals.update_inventory_combinators()
  for _, r in ipairs(storage.lists.inventory_combinators) do
    if r.e.valid then signals.write_inventory(r.e) end
  end
end

--- Signals receivers and inventory combinators had no room to output.
function signals.not_shown()
  local n = 0
  for _, dropped in pairs(storage.not_shown) do n = n + dropped end
  return n
end

return signals

-- clusterio mod: transmitter, receiver and inventory combinators.
--
-- Inside the mod a signal is its full id: type, name and quality (a signal read without a type
-- is an item). Today's wire to the slave carries `[name, value]` only, and the receiving side
-- finds the type by name: item first, then fluid, then virtual. So a signal travels when it is
-- of normal quality and that lookup gives its own type back; any other (another quality, an
-- entity, recipe, quality, space-location or asteroid-chunk signal, or a fluid or virtual
-- signal named like an item) stays home, listed in `status` as not sent.
--
-- A combinator section holds at most 1,000 filters: output uses as many of the combinator's
-- sections as it needs, never a section that belongs to a logistic group (writing it would
-- change every member of the group); what does not fit is dropped and counted in `status`.

local core = require("lua.core")

local signals = {}

--- utility-constants' max_logistic_filter_count.
local MAX_FILTERS = 1000

local function key_of(t, name, quality) return t .. "/" .. quality .. "/" .. name end

local function parse_key(key)
  local t, quality, name = key:match("^([^/]+)/([^/]+)/(.+)$")
  return t, name, quality
end

--- Type of a name as the wire reads it (item, fluid, then virtual), or nil for unknown names.
function signals.type_of_name(name)
  if prototypes.item[name] then return "item" end
  if prototypes.fluid[name] then return "fluid" end
  if prototypes.virtual_signal[name] then return "virtual" end
  return nil
end

--- The wire name of a signal key, or nil when today's wire cannot carry it.
local function wire_name(key)
  local t, name, quality = parse_key(key)
  if quality ~= "normal" or signals.type_of_name(name) ~= t then return nil end
  return name
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

--- Outputs {[item key]=value} on the combinator: each a signal of its name's type (by the
--- wire's lookup) and its key's quality. Receivers' keys are names alone: normal quality.
local function write_signals(e, map)
  local filters = {}
  for _, entry in ipairs(core.sorted_pairs(map)) do
    local name, value, quality = entry[1], entry[2], entry[3] or "normal"
    local t = signals.type_of_name(name)
    if t and value ~= 0 then
      filters[#filters + 1] = { value = { type = t, name = name, quality = quality }, min = core.clamp(value) }
    end
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
    local sent, unsent = {}, {}
    for k, v in pairs(storage.tx_sums[channel] or {}) do
      local name = wire_name(k)
      if name then
        sent[#sent + 1] = { name, core.clamp(v) }
      else
        local t, n, q = parse_key(k)
        unsent[#unsent + 1] = { type = t, name = n, quality = q, count = core.clamp(v) }
      end
    end
    table.sort(sent, function(a, b) return a[1] < b[1] end)
    table.sort(unsent, function(a, b) return a.type .. a.quality .. a.name < b.type .. b.quality .. b.name end)
    storage.tx_unsent[channel] = unsent[1] and unsent or nil
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
    write_signals(e, rx_sum(channel))
  end
end

function signals.update_receivers(channel)
  local sum = rx_sum(channel)
  for _, r in ipairs(storage.lists.receivers) do
    local e = r.e
    if e.valid and storage.rx_channel[e.unit_number] == channel then write_signals(e, sum) end
  end
end

function signals.write_inventory(e)
  local map = {}
  for k, v in pairs(storage.levels) do map[k] = v end
  map["signal-unixtime"] = storage.unixtime
  write_signals(e, map)
end

function signals.update_inventory_combinators()
  for _, r in ipairs(storage.lists.inventory_combinators) do
    if r.e.valid then signals.write_inventory(r.e) end
  end
end

--- Transmitter signals today's wire cannot carry, over all channels.
function signals.not_sent()
  local out = {}
  for channel, list in pairs(storage.tx_unsent) do
    for _, s in ipairs(list) do
      out[#out + 1] = { channel = channel, type = s.type, name = s.name, quality = s.quality, count = s.count }
    end
  end
  table.sort(out, function(a, b) return a.channel .. a.name < b.channel .. b.name end)
  return out
end

--- Signals receivers and inventory combinators had no room to output.
function signals.not_shown()
  local n = 0
  for _, dropped in pairs(storage.not_shown) do n = n + dropped end
  return n
end

return signals

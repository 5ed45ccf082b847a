-- clusterio mod: get-chests and get-tanks: what each wants, how much it misses, and putting
-- granted items and fluids into it.
--
-- A get-chest wants what its logistic sections request: each active section's item filters, of
-- the filter's quality (none given: normal), times the section's multiplier. A filter that
-- asks (a non-zero min) names one quality exactly: the game allows no quality range there. A get-tank wants its own box full of the fluid its owner
-- chose (lua/get_tank.lua). Everything here is kept by item key (core.item_key); a fluid's key
-- is its name.

local core = require("lua.core")
local putters = require("lua.putters")

local getters = {}

local function section_wants(out, section)
  if not section.active then return end
  local multiplier = section.multiplier
  for _, f in ipairs(section.filters) do
    local v = f.value
    -- A filter read back leaves an item's type out: no type means item.
    if v and (v.type or "item") == "item" and (f.min or 0) > 0 and core.allowed(v.name) then
      -- Rounded down: a fraction of an item is never asked for.
      local n = math.floor(f.min * multiplier)
      if n > 0 then core.add(out, core.item_key(v.name, core.quality_name(v.quality)), n) end
    end
  end
end

local function wanted(e)
  local out = {}
  if e.type == "storage-tank" then
    local fluid = storage.tank_fluid[e.unit_number]
    if fluid and core.allowed(fluid) then out[fluid] = putters.own_capacity(e) end
    return out
  end
  local sections = e.get_logistic_sections()
  if not sections then return out end
  for _, section in ipairs(sections.sections) do section_wants(out, section) end
  return out
end

--- Items of `name` and `quality` in a chest.
local function count_of(e, name, quality)
  local n = 0
  for _, it in ipairs(e.get_inventory(defines.inventory.chest).get_contents()) do
    if it.name == name and core.quality_name(it.quality) == quality then n = n + it.count end
  end
  return n
end

--- How much of the item `key` the getter misses, given it wants `want`.
local function missing(e, key, want)
  if e.type == "storage-tank" then
    local f = e.fluidbox[1]
    if f and f.name ~= key then return 0 end -- holding another fluid: leave it alone
    return math.floor(want - (f and f.amount or 0))
  end
  return want - count_of(e, core.item_of_key(key))
end

--- Puts up to n of the item `key` into the getter; returns how many went in. A tank takes no
--- more than its own box has room for, and whole units only; what does not go in stays in the
--- buffer.
local function deliver(e, key, n)
  if n <= 0 then return 0 end
  if e.type == "storage-tank" then
    local f = e.fluidbox[1]
    if f and f.name ~= key then return 0 end
    local give = math.min(n, math.floor(putters.own_capacity(e) - (f and f.amount or 0)))
    if give <= 0 then return 0 end
    local got = e.insert_fluid({ name = key, amount = give })
    local whole = math.floor(got)
    if got > whole then e.remove_fluid({ name = key, amount = got - whole }) end
    return whole
  end
  local name, quality = core.item_of_key(key)
  return e.get_inventory(defines.inventory.chest).insert({ name = name, count = n, quality = quality })
end

function getters.visit(e)
  local unit = e.unit_number
  local now = wanted(e)
  local before = storage.wants[unit] or {}
  for key in pairs(before) do
    if not now[key] and storage.wanting[key] then storage.wanting[key][unit] = nil end
  end
  for key, want in pairs(now) do
    if not before[key] then
      storage.wanting[key] = storage.wanting[key] or {}
      storage.wanting[key][unit] = e
    end
    local m = missing(e, key, want)
    local buffered = storage.buffer[key]
    if m > 0 and buffered then
      local given = deliver(e, key, math.min(m, buffered))
      if given >= buffered then storage.buffer[key] = nil else storage.buffer[key] = buffered - given end
      m = m - given
    end
    if m > 0 then core.add_request(unit, key, m) end
  end
  storage.wants[unit] = now
end

--- Splits `count` of the item `key` among the getters that want it, in proportion to what each
--- misses; what does not fit goes to the buffer. Returns nothing: nothing is ever lost.
function getters.distribute(key, count)
  local takers, total = {}, 0
  for unit, e in pairs(storage.wanting[key] or {}) do
    if e.valid then
      local m = missing(e, key, storage.wants[unit][key] or 0)
      if m > 0 then
        takers[#takers + 1] = { e = e, m = m, unit = unit }
        total = total + m
      end
    else
      storage.wanting[key][unit] = nil
    end
  end
  table.sort(takers, function(a, b) return a.unit < b.unit end)
  local left = count
  if total > 0 then
    local ratio = math.min(1, count / total)
    for _, t in ipairs(takers) do
      local got = deliver(t.e, key, math.min(math.floor(t.m * ratio), left))
      core.reduce_request(t.unit, key, got)
      t.m = t.m - got
      left = left - got
    end
    -- Rounding leftovers: one at a time to whoever still has room.
    for _, t in ipairs(takers) do
      if left <= 0 then break end
      if t.m > 0 then
        local got = deliver(t.e, key, math.min(t.m, left))
        core.reduce_request(t.unit, key, got)
        left = left - got
      end
    end
  end
  if left > 0 then core.add(storage.buffer, key, left) end
end

return getters

-- factorio-sim: fluid boxes in 2.0 fluid segments. Each storage tank has one box of its own
-- volume; boxes joined by pipes (sim.connect_fluid in a scenario) form one segment that holds
-- one fluid. A box reads as its share of the segment (amount x volume / segment capacity);
-- get_capacity gives the segment's capacity, as the API documents; insert_fluid and
-- remove_fluid work on the whole segment and say how much they moved. Writing a box's amount
-- sets its share; what its own volume cannot hold is lost, as nothing else can hold it.

local W, P = ...

local F = {}

local function check_fluid(name)
  if not P.raw.fluid[name] then error("Unknown fluid name: " .. tostring(name), 4) end
end

local function new_segment(box)
  return { fluid = nil, amount = 0, temperature = nil, capacity = box.volume, boxes = { box } }
end

--- A box of `volume` owned by entity state `owner`, alone in its own segment.
function F.new_box(owner, volume)
  local box = { owner = owner, volume = volume }
  box.segment = new_segment(box)
  return box
end

local function share(box)
  local s = box.segment
  if not s.fluid or s.amount <= 0 then return 0 end
  return s.amount * box.volume / s.capacity
end
F.share = share

local function set_fluid(s, name, temperature)
  s.fluid = name
  s.temperature = temperature or P.raw.fluid[name].default_temperature or 15
end

local function read_box(box)
  local amount = share(box)
  if amount <= 0 then return nil end
  return { name = box.segment.fluid, amount = amount, temperature = box.segment.temperature }
end

local function write_box(box, v)
  local s = box.segment
  local old = share(box)
  if v == nil or (v.amount or 0) <= 0 then
    s.amount = s.amount - old
    if s.amount <= 0 then s.fluid, s.amount = nil, 0 end
    return
  end
  check_fluid(v.name)
  if s.fluid and s.fluid ~= v.name and s.amount - old > 0 then
    error("Cannot set " .. v.name .. ": the fluid segment holds " .. s.fluid .. " (fluids do not mix)", 3)
  end
  set_fluid(s, v.name, v.temperature)
  s.amount = s.amount - old + math.min(v.amount, box.volume)
end

local new_fluidbox_prototype = W.class("LuaFluidBoxPrototype", {
  volume = function(st) return st.volume end,
}, {}, {})

local function check_index(index)
  if index ~= 1 then error("Fluidbox index out of range: " .. tostring(index), 4) end
end

F.new_fluidbox = W.class("LuaFluidBox", {
  owner = function(box) return box.owner.proxy end,
}, {}, {
  get_capacity = function(box, _, index)
    check_index(index)
    return box.segment.capacity
  end,
  get_prototype = function(box, _, index)
    check_index(index)
    return new_fluidbox_prototype({ volume = box.volume })
  end,
  get_filter = function(box, _, index)
    check_index(index)
    return box.filter and { name = box.filter } or nil
  end,
  set_filter = function(box, _, index, filter)
    check_index(index)
    if filter == nil then box.filter = nil; return true end
    check_fluid(filter.name)
    box.filter = filter.name
    return true
  end,
}, {
  len = function() return 1 end,
  index_get = function(box, i) check_index(i); return read_box(box) end,
  index_set = function(box, i, v) check_index(i); write_box(box, v) end,
})

--- LuaEntity::insert_fluid: into the segment, up to its free capacity.
function F.insert(box, fluid)
  check_fluid(fluid.name)
  local s = box.segment
  if s.fluid and s.fluid ~= fluid.name and s.amount > 0 then return 0 end
  local n = math.max(0, math.min(fluid.amount, s.capacity - s.amount))
  if n <= 0 then return 0 end
  local t = fluid.temperature or P.raw.fluid[fluid.name].default_temperature or 15
  if s.fluid == fluid.name and s.amount > 0 then t = (s.temperature * s.amount + t * n) / (s.amount + n) end
  set_fluid(s, fluid.name, t)
  s.amount = s.amount + n
  return n
end

--- LuaEntity::remove_fluid: from the segment, at most what it holds.
function F.remove(box, params)
  if params.temperature or params.minimum_temperature or params.maximum_temperature then
    W.unemulated("remove_fluid by temperature")
  end
  local s = box.segment
  if s.fluid ~= params.name then return 0 end
  local n = math.max(0, math.min(params.amount, s.amount))
  s.amount = s.amount - n
  if s.amount <= 0 then s.fluid, s.amount = nil, 0 end
  return n
end

--- LuaEntity::get_fluid_count: this box's share.
function F.count(box, fluid)
  if fluid ~= nil and fluid ~= box.segment.fluid then return 0 end
  return share(box)
end

--- Sim-only: joins the segments of two boxes (a pipe between them). They must hold the same
--- fluid, or one of them none: 2.0 refuses to connect different fluids.
function F.connect(a, b)
  local sa, sb = a.segment, b.segment
  if sa == sb then return end
  if sa.fluid and sb.fluid and sa.fluid ~= sb.fluid and sa.amount > 0 and sb.amount > 0 then
    error("Cannot connect segments holding " .. sa.fluid .. " and " .. sb.fluid, 3)
  end
  local keep = (sa.fluid and sa.amount > 0) and sa or sb
  local merged = { fluid = keep.fluid, temperature = keep.temperature, amount = sa.amount + sb.amount,
                   capacity = sa.capacity + sb.capacity, boxes = {} }
  for _, s in ipairs({ sa, sb }) do
    for _, box in ipairs(s.boxes) do
      box.segment = merged
      merged.boxes[#merged.boxes + 1] = box
    end
  end
end

--- A box leaves its segment (its entity is gone), taking its share with it.
function F.detach(box)
  local s = box.segment
  local mine = share(box)
  for i, b in ipairs(s.boxes) do
    if b == box then table.remove(s.boxes, i); break end
  end
  s.amount = s.amount - mine
  s.capacity = s.capacity - box.volume
  if s.amount <= 0 then s.fluid, s.amount = nil, 0 end
  box.segment = new_segment(box)
end

--- Plain data for saves: each segment once, with its members' unit numbers.
function F.dump(boxes)
  local out, seen = {}, {}
  for _, box in ipairs(boxes) do
    local s = box.segment
    if not seen[s] then
      seen[s] = true
      local units = {}
      for _, b in ipairs(s.boxes) do units[#units + 1] = b.owner.unit end
      out[#out + 1] = { units = units, fluid = s.fluid, amount = s.amount, temperature = s.temperature }
    end
  end
  return out
end

function F.restore(segments, box_of)
  for _, d in ipairs(segments) do
    local first = box_of(d.units[1])
    for i = 2, #d.units do F.connect(first, box_of(d.units[i])) end
    local s = first.segment
    s.fluid, s.amount, s.temperature = d.fluid, d.amount, d.temperature
  end
end

return F

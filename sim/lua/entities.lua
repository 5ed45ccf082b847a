-- factorio-sim: LuaEntity, LuaSurface and LuaForce, and the world's entity table. An entity's
-- behaviour follows its prototype's type: containers have an inventory (requester chests also
-- logistic sections), storage tanks a fluid box, constant combinators a control behaviour;
-- other types are refused.

local W, P, I, F, S, events = ...

local E = { by_unit = {}, next_unit = 1, surfaces = {}, forces = {} }

local container_types = { container = true, ["logistic-container"] = true }
local wire = { red = 1, green = 2 } -- defines.wire_connector_id.circuit_red / circuit_green

local function pos_arg(p)
  if p == nil then error("position is required", 4) end
  return { x = p.x or p[1] or 0, y = p.y or p[2] or 0 }
end

local function signal_key(id) return id.type .. "/" .. id.quality .. "/" .. id.name end

--- The circuit signals on the given wire connectors, as the game reads them (an item's type
--- and a normal quality are left out).
local function read_circuit(st, ids)
  if ids[1] == nil then error("wire_connector_id is required", 4) end
  local sum, keys = {}, {}
  for _, c in ipairs(ids) do
    local color = c == wire.red and "red" or c == wire.green and "green" or nil
    if not color then error("Invalid wire connector id: " .. tostring(c), 4) end
    for k, s in pairs(st.circuit[color]) do
      if not sum[k] then keys[#keys + 1] = k; sum[k] = { id = s.id, count = 0 } end
      sum[k].count = sum[k].count + s.count
    end
  end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local id = sum[k].id
    if sum[k].count ~= 0 then
      out[#out + 1] = { signal = { type = id.type ~= "item" and id.type or nil, name = id.name,
                                   quality = id.quality ~= "normal" and id.quality or nil },
                        count = sum[k].count }
    end
  end
  return out
end

local function need(st, field, what)
  if not st[field] then W.unemulated(what .. " on " .. st.proto.type) end
  return st[field]
end

E.new_entity_proxy = W.class("LuaEntity", {
  name = function(st) return st.name end,
  type = function(st) return st.proto.type end,
  unit_number = function(st) return st.unit end,
  position = function(st) return { x = st.position.x, y = st.position.y } end,
  surface = function(st) return E.surfaces[st.surface].proxy end,
  force = function(st) return E.forces[st.force].proxy end,
  prototype = function(st) return st.proto.proxy end,
  quality = function(st) return P.raw.quality[st.quality].proxy end,
  fluidbox = function(st) return need(st, "box", "LuaEntity.fluidbox").proxy end,
  combinator_description = function(st)
    need(st, "cb", "LuaEntity.combinator_description")
    return st.description
  end,
  custom_status = function(st) return st.custom_status end,
}, {
  combinator_description = function(st, _, v)
    need(st, "cb", "LuaEntity.combinator_description")
    st.description = tostring(v)
  end,
  custom_status = function(st, _, v)
    if v ~= nil and (type(v) ~= "table" or v.diode == nil or v.label == nil) then
      error("CustomEntityStatus needs a diode and a label", 3)
    end
    st.custom_status = v
  end,
}, {
  destroy = function(st, p, params)
    if params and params.raise_destroy then
      events.raise(defines.events.script_raised_destroy, { entity = p })
    end
    E.remove(st)
    return true
  end,
  get_inventory = function(st, _, inventory)
    if not st.inventory or inventory ~= defines.inventory.chest then return nil end
    return st.inventory.proxy
  end,
  get_output_inventory = function(st) return st.inventory and st.inventory.proxy or nil end,
  get_or_create_control_behavior = function(st) return need(st, "cb", "control behaviour").proxy end,
  get_control_behavior = function(st) return st.cb and st.cb.proxy or nil end,
  get_logistic_sections = function(st) return st.requests and st.requests.proxy or nil end,
  get_signals = function(st, _, wire_connector_id, extra_wire_connector_id)
    local out = read_circuit(st, { wire_connector_id, extra_wire_connector_id })
    if #out == 0 then return nil end
    return out
  end,
  get_signal = function(st, _, signal, wire_connector_id, extra_wire_connector_id)
    local id = P.signal_id(signal)
    for _, s in ipairs(read_circuit(st, { wire_connector_id, extra_wire_connector_id })) do
      if (s.signal.type or "item") == id.type and s.signal.name == id.name
          and (s.signal.quality or "normal") == id.quality then return s.count end
    end
    return 0
  end,
  insert_fluid = function(st, _, fluid) return F.insert(need(st, "box", "insert_fluid"), fluid) end,
  remove_fluid = function(st, _, params) return F.remove(need(st, "box", "remove_fluid"), params) end,
  get_fluid_count = function(st, _, fluid) return st.box and F.count(st.box, fluid) or 0 end,
  clone = function(st, p, params)
    local surface = params.surface and W.STATE[params.surface].index or st.surface
    local force = params.force and (type(params.force) == "string" and params.force or params.force.name) or st.force
    local c = E.create(st.name, surface, force, pos_arg(params.position))
    E.copy_contents(c, st)
    events.raise(defines.events.on_entity_cloned, { source = p, destination = c.proxy })
    return c.proxy
  end,
})

local function new_entity_state(name, surface, force, position, unit)
  local proto = P.raw.entity[name]
  if not proto then error("Unknown entity name: " .. tostring(name), 4) end
  local st = { name = name, proto = proto, surface = surface, force = force, quality = "normal",
               position = position, unit = unit, circuit = { red = {}, green = {} }, description = "" }
  if container_types[proto.type] then
    st.inventory = I.new_holder(proto.inventory_size or 16)
    st.inventory.index = defines.inventory.chest
    st.inventory.proxy = I.new_inventory(st.inventory)
    if proto.logistic_mode == "requester" or proto.logistic_mode == "buffer" then
      st.requests = S.new_owner(st)
      st.requests.proxy = S.new_logistic_sections(st.requests)
    end
  elseif proto.type == "storage-tank" then
    st.box = F.new_box(st, (proto.fluid_box or {}).volume or 25000)
    st.box.proxy = F.new_fluidbox(st.box)
  elseif proto.type == "constant-combinator" then
    st.cb = S.new_owner(st)
    st.cb.proxy = S.new_control_behavior(st.cb)
  else
    W.unemulated("entities of type " .. proto.type)
  end
  st.proxy = E.new_entity_proxy(st)
  return st
end

function E.create(name, surface, force, position, unit)
  if not unit then
    unit = E.next_unit
    E.next_unit = E.next_unit + 1
  end
  local st = new_entity_state(name, surface, force, position, unit)
  E.by_unit[unit] = st
  return st
end

--- Removes an entity from the world: it and its inventory become invalid.
function E.remove(st)
  st.valid = false
  E.by_unit[st.unit] = nil
  if st.inventory then st.inventory.valid = false end
  if st.box then F.detach(st.box); st.box.valid = false end
end

--- What a clone takes over: items (copies), its fluid share, sections, texts.
function E.copy_contents(dst, src)
  if src.inventory then
    for i, s in pairs(src.inventory.stacks) do dst.inventory.stacks[i] = I.copy_stack(s) end
  end
  if src.box then
    local f = F.share(src.box)
    if f > 0 then F.insert(dst.box, { name = src.box.segment.fluid, amount = f, temperature = src.box.segment.temperature }) end
    dst.box.filter = src.box.filter
  end
  if src.cb then S.copy(dst.cb, src.cb) end
  if src.requests then S.copy(dst.requests, src.requests) end
  dst.description, dst.custom_status = src.description, src.custom_status
end

--- Sim-only: sets what the entity's circuit connector reads on one wire (red unless "green"):
--- pairs of a signal (a SignalID table, or a name: item, fluid, then virtual) and a count.
function E.set_circuit_input(entity, list, color)
  local st = W.STATE[entity]
  local map = {}
  for _, pair in ipairs(list) do
    local id = P.signal_id(pair[1])
    if pair[2] ~= 0 then map[signal_key(id)] = { id = id, count = W.int32(pair[2], "signal value") } end
  end
  st.circuit[color == "green" and "green" or "red"] = map
end

local function matches(value, want)
  if want == nil then return true end
  if type(want) == "table" then
    for _, w in ipairs(want) do if w == value then return true end end
    return false
  end
  return value == want
end

local function filtered(surface_index, f)
  f = f or {}
  local out, units = {}, {}
  for unit in pairs(E.by_unit) do units[#units + 1] = unit end
  table.sort(units)
  for _, unit in ipairs(units) do
    local st = E.by_unit[unit]
    local force = type(f.force) == "table" and f.force.name or f.force
    if st.surface == surface_index and matches(st.name, f.name) and matches(st.proto.type, f.type)
        and matches(st.force, force) then
      out[#out + 1] = st.proxy
    end
  end
  return out
end

E.new_surface_proxy = W.class("LuaSurface", {
  name = function(st) return st.name end,
  index = function(st) return st.index end,
  -- What the map was created with (--map-gen-settings, --map-gen-seed); a copy, as in the game.
  map_gen_settings = function(st) return W.copy(st.map_gen_settings) end,
}, {}, {
  create_entity = function(st, _, params)
    local force = params.force or "player"
    if type(force) == "table" then force = force.name end
    local e = E.create(params.name, st.index, force, pos_arg(params.position))
    if params.raise_built then
      events.raise(defines.events.script_raised_built, { entity = e.proxy })
    end
    return e.proxy
  end,
  find_entities_filtered = function(st, _, filter) return filtered(st.index, filter) end,
  count_entities_filtered = function(st, _, filter) return #filtered(st.index, filter) end,
})

E.new_force_proxy = W.class("LuaForce", {
  name = function(st) return st.name end,
  index = function(st) return st.index end,
}, {}, {})

function E.add_surface(name)
  local st = { name = name, index = #E.surfaces + 1, map_gen_settings = { seed = 0, width = 2000000, height = 2000000 } }
  st.proxy = E.new_surface_proxy(st)
  E.surfaces[st.index] = st
end

function E.add_force(name, index)
  local st = { name = name, index = index }
  st.proxy = E.new_force_proxy(st)
  E.forces[name] = st
end

function E.reset()
  E.by_unit, E.next_unit, E.surfaces, E.forces = {}, 1, {}, {}
  S.groups = {}
  E.add_surface("nauvis")
  E.add_force("player", 1)
end

--- Plain data for saves.
function E.dump()
  local list, boxes = {}, {}
  for unit, st in pairs(E.by_unit) do
    local d = { unit = unit, name = st.name, surface = st.surface, force = st.force,
                x = st.position.x, y = st.position.y, description = st.description,
                custom_status = st.custom_status, circuit = st.circuit }
    if st.inventory then d.inventory = I.dump(st.inventory) end
    if st.box then d.filter = st.box.filter; boxes[#boxes + 1] = st.box end
    if st.cb then d.cb = S.dump(st.cb) end
    if st.requests then d.requests = S.dump(st.requests) end
    list[#list + 1] = d
  end
  table.sort(list, function(a, b) return a.unit < b.unit end)
  table.sort(boxes, function(a, b) return a.owner.unit < b.owner.unit end)
  return { entities = list, next_unit = E.next_unit, segments = F.dump(boxes),
           groups = S.dump_groups(), next_item_number = I.next_item_number,
           map_gen_settings = E.surfaces[1].map_gen_settings }
end

--- Saves of the first format kept items as {name=count} and one fluid per tank.
local function restore_v1(st, d)
  if d.items then
    for name, count in pairs(d.items) do I.insert_stack(st.inventory, I.stack_arg({ name = name, count = count })) end
  end
  if d.fluid then
    st.box.filter = d.fluid.filter
    if d.fluid.name then F.insert(st.box, d.fluid) end
  end
  st.circuit = { red = {}, green = {} }
end

function E.restore(data)
  E.reset()
  E.next_unit = data.next_unit
  I.next_item_number = data.next_item_number or 1
  S.restore_groups(data.groups)
  if data.map_gen_settings then E.surfaces[1].map_gen_settings = data.map_gen_settings end
  for _, d in ipairs(data.entities) do
    local st = E.create(d.name, d.surface, d.force, { x = d.x, y = d.y }, d.unit)
    st.description, st.custom_status, st.circuit = d.description, d.custom_status, d.circuit
    if d.inventory then I.restore(st.inventory, d.inventory) end
    if st.box then st.box.filter = d.filter end
    if d.cb then S.restore(st.cb, d.cb) end
    if d.requests then S.restore(st.requests, d.requests) end
    if not data.segments then restore_v1(st, d) end
  end
  F.restore(data.segments or {}, function(unit) return E.by_unit[unit].box end)
end

return E

-- factorio-sim: LuaEntity, LuaSurface, LuaForce and LuaPlayer, plus the world's entity table.
-- An entity's behaviour follows its prototype's type: containers have an inventory, storage
-- tanks a fluid box, constant combinators a control behaviour; other types are refused.

local W, events = ...

local E = { by_unit = {}, next_unit = 1, players = {}, surfaces = {}, forces = {} }

local container_types = { container = true, ["logistic-container"] = true }

local function pos_arg(p)
  if p == nil then return { x = 0, y = 0 } end
  return { x = p.x or p[1] or 0, y = p.y or p[2] or 0 }
end

local function signal_list(map)
  local out = {}
  for _, s in pairs(map) do
    out[#out + 1] = { signal = { type = s.type, name = s.name }, count = s.count }
  end
  table.sort(out, function(a, b) return a.signal.name < b.signal.name end)
  return out
end

E.new_entity_proxy = W.class("LuaEntity", {
  name = function(st) return st.name end,
  type = function(st) return st.proto.type end,
  unit_number = function(st) return st.unit end,
  position = function(st) return { x = st.position.x, y = st.position.y } end,
  surface = function(st) return E.surfaces[st.surface].proxy end,
  force = function(st) return E.forces[st.force].proxy end,
  prototype = function(st) return st.proto end,
  fluidbox = function(st)
    if not st.fluidbox then W.unemulated("LuaEntity.fluidbox on " .. st.proto.type) end
    return st.fluidbox.proxy
  end,
  combinator_description = function(st)
    if not st.cb then W.unemulated("LuaEntity.combinator_description on " .. st.proto.type) end
    return st.description
  end,
}, {
  combinator_description = function(st, _, v)
    if not st.cb then W.unemulated("LuaEntity.combinator_description on " .. st.proto.type) end
    st.description = tostring(v)
  end,
}, {
  destroy = function(st, p, opts)
    if opts and opts.raise_destroy then
      events.raise(defines.events.script_raised_destroy, { entity = p })
    end
    st.valid = false
    E.by_unit[st.unit] = nil
    if st.inventory then st.inventory.valid = false end
    if st.fluidbox then st.fluidbox.valid = false end
    return true
  end,
  get_inventory = function(st, _, i)
    if not st.inventory or i ~= defines.inventory.chest then return nil end
    return st.inventory.proxy
  end,
  get_output_inventory = function(st) return st.inventory and st.inventory.proxy or nil end,
  get_or_create_control_behavior = function(st)
    if not st.cb then W.unemulated("control behaviour of " .. st.proto.type) end
    return st.cb.proxy
  end,
  get_control_behavior = function(st) return st.cb and st.cb.proxy or nil end,
  get_logistic_sections = function(st)
    if not st.requests then return nil end
    return st.requests.proxy
  end,
  get_signals = function(st)
    if next(st.circuit) == nil then return nil end
    return signal_list(st.circuit)
  end,
  get_signal = function(st, _, sig)
    local s = st.circuit[(sig.type or "item") .. "/" .. sig.name]
    return s and s.count or 0
  end,
  to_be_deconstructed = function() return false end,
})

local function new_entity_state(name, surface, force, position, unit)
  local proto = W.protos.entity[name]
  if not proto then error("Unknown entity name: " .. tostring(name), 3) end
  local st = { name = name, proto = proto, surface = surface, force = force,
               position = pos_arg(position), unit = unit, circuit = {}, description = "" }
  if container_types[proto.type] then
    st.inventory = { slots = proto.inventory_size or 16, items = {}, index = 1 }
    st.inventory.proxy = W.new_inventory(st.inventory)
    if proto.logistic_mode == "requester" or proto.logistic_mode == "buffer" then
      st.requests = W.new_sections_state(st)
      st.requests.proxy = W.new_logistic_sections(st.requests)
      st.requests.proxy.add_section() -- a new requester starts with one empty section
    end
  elseif proto.type == "storage-tank" then
    local fb = proto.fluid_box or {}
    st.fluidbox = { capacity = fb.volume or 25000, amount = 0 }
    st.fluidbox.proxy = W.new_fluidbox(st.fluidbox)
  elseif proto.type == "constant-combinator" then
    st.cb = W.new_sections_state(st)
    st.cb.proxy = W.new_control_behavior(st.cb)
    st.cb.proxy.add_section()
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

--- Sim-only: sets what the entity's circuit input reads (wires are not emulated).
function E.set_circuit_input(entity, list)
  local st = W.STATE[entity]
  st.circuit = {}
  for _, pair in ipairs(list) do
    local id = W.signal_id(pair[1])
    if pair[2] ~= 0 then
      st.circuit[id.type .. "/" .. id.name] = { type = id.type, name = id.name, count = pair[2] }
    end
  end
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
  local out = {}
  local units = {}
  for unit in pairs(E.by_unit) do units[#units + 1] = unit end
  table.sort(units)
  for _, unit in ipairs(units) do
    local st = E.by_unit[unit]
    if st.surface == surface_index and matches(st.name, f.name) and matches(st.proto.type, f.type)
        and matches(st.force, type(f.force) == "table" and f.force.name or f.force) then
      out[#out + 1] = st.proxy
    end
  end
  return out
end

E.new_surface_proxy = W.class("LuaSurface", {
  name = function(st) return st.name end,
  index = function(st) return st.index end,
}, {}, {
  create_entity = function(st, _, args)
    local force = args.force or "player"
    if type(force) == "table" then force = force.name end
    local e = E.create(args.name, st.index, force, args.position)
    if args.raise_built then
      events.raise(defines.events.script_raised_built, { entity = e.proxy })
    end
    return e.proxy
  end,
  find_entities_filtered = function(st, _, f) return filtered(st.index, f) end,
  count_entities_filtered = function(st, _, f) return #filtered(st.index, f) end,
})

E.new_force_proxy = W.class("LuaForce", {
  name = function(st) return st.name end,
  index = function(st) return st.index end,
}, {}, {})

E.new_player_proxy = W.class("LuaPlayer", {
  name = function(st) return st.name end,
  index = function(st) return st.index end,
  connected = function(st) return st.connected end,
  force = function() return E.forces.player.proxy end,
}, {}, {
  print = function() end,
})

function E.add_surface(name)
  local st = { name = name, index = #E.surfaces + 1 }
  st.proxy = E.new_surface_proxy(st)
  E.surfaces[st.index] = st
end

function E.add_force(name, index)
  local st = { name = name, index = index }
  st.proxy = E.new_force_proxy(st)
  E.forces[name] = st
end

function E.reset()
  E.by_unit, E.next_unit, E.players, E.surfaces, E.forces = {}, 1, {}, {}, {}
  E.add_surface("nauvis")
  E.add_force("player", 1)
end

--- Sim-only: a player joins (or rejoins) and on_player_joined_game is raised.
function E.join_player(name)
  local st
  for _, p in ipairs(E.players) do if p.name == name then st = p end end
  if not st then
    st = { name = name, index = #E.players + 1, connected = false }
    st.proxy = E.new_player_proxy(st)
    E.players[st.index] = st
  end
  st.connected = true
  events.raise(defines.events.on_player_joined_game, { player_index = st.index })
end

function E.leave_player(name)
  for _, p in ipairs(E.players) do
    if p.name == name and p.connected then
      p.connected = false
      events.raise(defines.events.on_player_left_game, { player_index = p.index, reason = 0 })
    end
  end
end

function E.connected_count()
  local n = 0
  for _, p in ipairs(E.players) do if p.connected then n = n + 1 end end
  return n
end

--- Plain data for saves.
function E.dump()
  local list = {}
  for unit, st in pairs(E.by_unit) do
    local d = { unit = unit, name = st.name, surface = st.surface, force = st.force,
                x = st.position.x, y = st.position.y, description = st.description,
                circuit = st.circuit }
    if st.inventory then d.items = st.inventory.items end
    if st.fluidbox then
      d.fluid = { name = st.fluidbox.fluid, amount = st.fluidbox.amount,
                  temperature = st.fluidbox.temperature, filter = st.fluidbox.filter }
    end
    if st.cb then d.cb = W.dump_sections(st.cb) end
    if st.requests then d.requests = W.dump_sections(st.requests) end
    list[#list + 1] = d
  end
  table.sort(list, function(a, b) return a.unit < b.unit end)
  local players = {}
  for i, p in ipairs(E.players) do players[i] = { name = p.name, connected = p.connected } end
  return { entities = list, next_unit = E.next_unit, players = players }
end

function E.restore(data)
  E.reset()
  E.next_unit = data.next_unit
  for _, d in ipairs(data.entities) do
    local st = E.create(d.name, d.surface, d.force, { x = d.x, y = d.y }, d.unit)
    st.description = d.description
    st.circuit = d.circuit
    if d.items then st.inventory.items = d.items end
    if d.fluid then
      st.fluidbox.fluid, st.fluidbox.amount = d.fluid.name, d.fluid.amount
      st.fluidbox.temperature, st.fluidbox.filter = d.fluid.temperature, d.fluid.filter
    end
    if d.cb then W.restore_sections(st.cb, d.cb) end
    if d.requests then W.restore_sections(st.requests, d.requests) end
  end
  for i, p in ipairs(data.players) do
    -- Everyone is disconnected after a load, as on a freshly started server.
    local st = { name = p.name, index = i, connected = false }
    st.proxy = E.new_player_proxy(st)
    E.players[i] = st
  end
end

return E

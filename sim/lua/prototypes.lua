-- factorio-sim: runtime prototypes (LuaPrototypes and the prototype classes it hands out), built
-- from data.raw once the data stage is over, and signal ids checked against them.

local W = ...

local P = {}

local item_types = { "item", "tool", "ammo", "capsule", "module", "armor", "gun",
  "item-with-entity-data", "item-with-inventory", "item-with-label", "item-with-tags",
  "rail-planner", "repair-tool", "selection-tool", "blueprint", "blueprint-book",
  "deconstruction-item", "upgrade-item", "copy-paste-tool", "spidertron-remote",
  "space-platform-starter-pack" }
P.item_types = item_types
--- Item types whose stacks have a unique item_number (the API's list).
local numbered = { armor = true, ["spidertron-remote"] = true, ["selection-tool"] = true,
  ["copy-paste-tool"] = true, ["upgrade-item"] = true, ["deconstruction-item"] = true,
  blueprint = true, ["blueprint-book"] = true, ["item-with-tags"] = true,
  ["item-with-entity-data"] = true, ["item-with-inventory"] = true, ["item-with-label"] = true }

--- name -> prototype state, per kind; the runtime objects are made from these.
P.raw = { item = {}, fluid = {}, virtual_signal = {}, entity = {}, recipe = {}, quality = {},
  space_location = {}, asteroid_chunk = {} }

local function readonly(t, what)
  return setmetatable({}, {
    __index = t,
    __newindex = function() error(what .. " is read only", 2) end,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
  })
end

local new_quality = W.class("LuaQualityPrototype", {
  name = function(st) return st.name end,
  level = function(st) return st.level end,
  next = function(st) return st.next and P.raw.quality[st.next].proxy or nil end,
}, {}, {})

local new_entity_proto = W.class("LuaEntityPrototype", {
  name = function(st) return st.name end,
  type = function(st) return st.type end,
  logistic_mode = function(st) return st.logistic_mode end,
}, {}, {})

local new_item = W.class("LuaItemPrototype", {
  name = function(st) return st.name end,
  type = function(st) return st.type end,
  stack_size = function(st) return st.stack_size end,
  place_result = function(st)
    local e = st.place_result and P.raw.entity[st.place_result]
    return e and e.proxy or nil
  end,
  magazine_size = function(st) return st.magazine_size end,
}, {}, {
  get_spoil_ticks = function(st, _, quality) return st.spoil_ticks or 0 end,
  get_durability = function(st, _, quality) return st.durability end,
})

local new_fluid = W.class("LuaFluidPrototype", {
  name = function(st) return st.name end,
  default_temperature = function(st) return st.default_temperature end,
}, {}, {})

local new_virtual = W.class("LuaVirtualSignalPrototype", {
  name = function(st) return st.name end,
}, {}, {})

local new_recipe = W.class("LuaRecipePrototype", {
  name = function(st) return st.name end,
}, {}, {})

local new_space_location = W.class("LuaSpaceLocationPrototype", {
  name = function(st) return st.name end,
}, {}, {})

local new_asteroid_chunk = W.class("LuaAsteroidChunkPrototype", {
  name = function(st) return st.name end,
}, {}, {})

local function add(kind, ctor, st)
  st.proxy = ctor(st)
  P.raw[kind][st.name] = st
end

--- Fills the runtime prototypes from the data stage's data.raw.
function P.build(raw)
  for _, t in ipairs(item_types) do
    for name, p in pairs(raw[t] or {}) do
      add("item", new_item, { name = name, type = t, stack_size = p.stack_size,
        place_result = p.place_result, magazine_size = p.magazine_size,
        spoil_ticks = p.spoil_ticks, durability = p.durability, numbered = numbered[t] or false,
        equipment_grid = p.equipment_grid, inventory_size = p.inventory_size })
    end
  end
  for name, p in pairs(raw.fluid or {}) do
    add("fluid", new_fluid, { name = name, default_temperature = p.default_temperature })
  end
  for name in pairs(raw["virtual-signal"] or {}) do
    add("virtual_signal", new_virtual, { name = name })
  end
  for name in pairs(raw.recipe or {}) do add("recipe", new_recipe, { name = name }) end
  -- A planet is a space location (its prototype type derives from it).
  for _, t in ipairs({ "space-location", "planet" }) do
    for name in pairs(raw[t] or {}) do add("space_location", new_space_location, { name = name }) end
  end
  for name in pairs(raw["asteroid-chunk"] or {}) do add("asteroid_chunk", new_asteroid_chunk, { name = name }) end
  for name, p in pairs(raw.quality or {}) do
    add("quality", new_quality, { name = name, level = p.level, next = p.next })
  end
end

--- Registers an entity prototype (runtime.lua decides which entity types are emulated).
function P.add_entity(name, p)
  add("entity", new_entity_proto, { name = name, type = p.type, logistic_mode = p.logistic_mode,
    inventory_size = p.inventory_size, fluid_box = p.fluid_box })
end

local function table_of(kind)
  local t = {}
  for name, st in pairs(P.raw[kind]) do t[name] = st.proxy end
  return readonly(t, "LuaCustomTable")
end

P.prototypes = W.class("LuaPrototypes", {
  item = function() return table_of("item") end,
  fluid = function() return table_of("fluid") end,
  virtual_signal = function() return table_of("virtual_signal") end,
  entity = function() return table_of("entity") end,
  recipe = function() return table_of("recipe") end,
  quality = function() return table_of("quality") end,
  space_location = function() return table_of("space_location") end,
  asteroid_chunk = function() return table_of("asteroid_chunk") end,
}, {}, {}, { no_valid = true })({})

function P.item(name)
  local p = P.raw.item[name]
  if not p then error("Unknown item name: " .. tostring(name), 4) end
  return p
end

--- A quality given as a name or LuaQualityPrototype; nil means normal.
function P.quality(q)
  if q == nil then return "normal" end
  if W.class_of(q) == "LuaQualityPrototype" then return W.STATE[q].name end
  if type(q) ~= "string" or not P.raw.quality[q] then error("Unknown quality name: " .. tostring(q), 4) end
  return q
end

--- Each SignalIDType (the API's list) and its prototypes.
local signal_kinds = { item = "item", fluid = "fluid", virtual = "virtual_signal",
  entity = "entity", recipe = "recipe", quality = "quality",
  ["space-location"] = "space_location", ["asteroid-chunk"] = "asteroid_chunk" }

--- A SignalID {type, name, quality} from a table (missing type = item) or a bare name (item,
--- fluid, then virtual). Unknown types, names and qualities are errors, as in the game.
function P.signal_id(v)
  if type(v) == "table" then
    local t = v.type or "item"
    local kind = signal_kinds[t]
    if not kind then error("Invalid SignalIDType: " .. tostring(t), 3) end
    if not P.raw[kind][v.name] then error("Unknown " .. t .. " signal: " .. tostring(v.name), 3) end
    return { type = t, name = v.name, quality = P.quality(v.quality) }
  end
  for _, t in ipairs({ "item", "fluid", "virtual" }) do
    if P.raw[signal_kinds[t]][v] then return { type = t, name = v, quality = "normal" } end
  end
  error("Unknown signal name: " .. tostring(v), 3)
end

return P

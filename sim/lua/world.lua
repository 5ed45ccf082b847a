-- factorio-sim world: LuaObjects for entities, inventories, fluid boxes, combinator control
-- behaviours and logistic sections, emulating the Factorio 2.0 runtime API.
--
-- Every object is an empty proxy table whose metatable looks up getters, setters and methods of
-- its class; its state lives in STATE[proxy]. Reading or writing anything a class does not
-- define raises "factorio-sim does not emulate <Class>.<key>", so a mod using an API the sim
-- lacks fails loudly instead of silently misbehaving.

local W = {}

local STATE = setmetatable({}, { __mode = "k" })
W.STATE = STATE

local function unemulated(what)
  error("factorio-sim does not emulate " .. what, 3)
end
W.unemulated = unemulated

--- Makes a class; returns a constructor taking the object's state.
function W.class(name, getters, setters, methods, extra)
  extra = extra or {}
  local mt = { __metatable = name }
  mt.__index = function(p, k)
    local st = STATE[p]
    if k == "valid" then return st.valid ~= false end
    if k == "object_name" then return name end
    if st.valid == false then error("LuaObject API call when " .. name .. " was invalid.", 2) end
    if type(k) == "number" and extra.index_get then return extra.index_get(st, k) end
    local g = getters[k]
    if g then return g(st, p) end
    local m = methods[k]
    if m then
      local bound = function(...)
        if st.valid == false then error("LuaObject API call when " .. name .. " was invalid.", 2) end
        return m(st, p, ...)
      end
      rawset(p, k, bound)
      return bound
    end
    unemulated(name .. "." .. tostring(k))
  end
  mt.__newindex = function(p, k, v)
    local st = STATE[p]
    if st.valid == false then error("LuaObject API call when " .. name .. " was invalid.", 2) end
    if type(k) == "number" and extra.index_set then return extra.index_set(st, k, v) end
    local s = setters[k]
    if not s then unemulated("writing " .. name .. "." .. tostring(k)) end
    s(st, p, v)
  end
  if extra.len then mt.__len = function(p) return extra.len(STATE[p]) end end
  return function(st)
    local p = setmetatable({}, mt)
    STATE[p] = st
    return p
  end
end

-- Prototypes are filled in by runtime.lua after the data stage.
W.protos = { item = {}, fluid = {}, virtual_signal = {}, entity = {}, recipe = {} }

local function item_proto(name)
  local p = W.protos.item[name]
  if not p then error("Unknown item name: " .. tostring(name), 3) end
  return p
end

local function check_quality(q)
  if q ~= nil and q ~= "normal" then unemulated("items of quality " .. tostring(q)) end
end

--- Normalises an ItemStackIdentification (a name or {name=, count=, quality=}).
local function stack_arg(s)
  if type(s) == "string" then return s, 1 end
  if type(s) ~= "table" then error("Invalid ItemStackIdentification", 3) end
  check_quality(s.quality)
  local name = s.name
  if type(name) == "table" then name = name.name end
  return name, s.count or 1
end

--- Signal id from a name, guessing the type the way the mod's IPC does: item, fluid, virtual.
function W.signal_id(v)
  if type(v) == "table" then
    return { type = v.type or "item", name = v.name, quality = v.quality }
  end
  if W.protos.item[v] then return { type = "item", name = v } end
  if W.protos.fluid[v] then return { type = "fluid", name = v } end
  if W.protos.virtual_signal[v] then return { type = "virtual", name = v } end
  error("Unknown signal name: " .. tostring(v), 3)
end

---------------------------------------------------------------------------------------------------
-- LuaInventory: items by name; capacity counted in stacks like the real inventory.

local function slots_used(items, except)
  local n = 0
  for name, c in pairs(items) do
    if name ~= except then n = n + math.ceil(c / W.protos.item[name].stack_size) end
  end
  return n
end

local function insertable(st, name)
  local stack = item_proto(name).stack_size
  local free = (st.slots - slots_used(st.items, name)) * stack - (st.items[name] or 0)
  return free > 0 and free or 0
end

W.new_inventory = W.class("LuaInventory", {
  index = function(st) return st.index end,
}, {}, {
  insert = function(st, _, s)
    local name, count = stack_arg(s)
    local n = math.min(math.floor(count), insertable(st, name))
    if n > 0 then st.items[name] = (st.items[name] or 0) + n end
    return n
  end,
  remove = function(st, _, s)
    local name, count = stack_arg(s)
    item_proto(name)
    local have = st.items[name] or 0
    local n = math.min(math.floor(count), have)
    if n >= have then st.items[name] = nil else st.items[name] = have - n end
    return n
  end,
  get_item_count = function(st, _, name)
    if name == nil then
      local n = 0
      for _, c in pairs(st.items) do n = n + c end
      return n
    end
    if type(name) == "table" then check_quality(name.quality); name = name.name end
    return st.items[name] or 0
  end,
  get_contents = function(st)
    local out = {}
    for name, c in pairs(st.items) do out[#out + 1] = { name = name, quality = "normal", count = c } end
    table.sort(out, function(a, b) return a.name < b.name end)
    return out
  end,
  get_insertable_count = function(st, _, s)
    return insertable(st, (stack_arg(s)))
  end,
  can_insert = function(st, _, s) return insertable(st, (stack_arg(s))) > 0 end,
  is_empty = function(st) return next(st.items) == nil end,
  clear = function(st) st.items = {} end,
}, { len = function(st) return st.slots end })

---------------------------------------------------------------------------------------------------
-- LuaFluidBox: one box per storage tank.

local function check_fluid(name)
  if not W.protos.fluid[name] then error("Unknown fluid name: " .. tostring(name), 4) end
end

W.new_fluidbox = W.class("LuaFluidBox", {}, {}, {
  get_capacity = function(st) return st.capacity end,
  get_filter = function(st)
    if not st.filter then return nil end
    return { name = st.filter }
  end,
  set_filter = function(st, _, i, f)
    if i ~= 1 then error("Fluidbox index out of range", 2) end
    if f == nil then st.filter = nil; return true end
    check_fluid(f.name)
    st.filter = f.name
    return true
  end,
}, {
  len = function() return 1 end,
  index_get = function(st, i)
    if i ~= 1 then error("Fluidbox index out of range", 3) end
    if not st.fluid then return nil end
    return { name = st.fluid, amount = st.amount, temperature = st.temperature }
  end,
  index_set = function(st, i, v)
    if i ~= 1 then error("Fluidbox index out of range", 3) end
    if v == nil or (v.amount or 0) <= 0 then
      st.fluid, st.amount = nil, 0
      return
    end
    check_fluid(v.name)
    st.fluid = v.name
    st.amount = math.min(v.amount, st.capacity)
    st.temperature = v.temperature or W.protos.fluid[v.name].default_temperature or 15
  end,
})

---------------------------------------------------------------------------------------------------
-- LuaLogisticSection: used by constant combinators (signals out) and requester chests.

local function norm_filter(f)
  if f == nil then return nil end
  local v = f.value
  if v == nil then error("LogisticFilter needs a value", 4) end
  local id = W.signal_id(v)
  check_quality(id.quality)
  return { value = { type = id.type, name = id.name, quality = "normal", comparator = "=" },
           min = math.floor(f.min or 0) }
end

local function copy_filter(f)
  return { value = { type = f.value.type, name = f.value.name, quality = f.value.quality,
                     comparator = f.value.comparator }, min = f.min }
end

W.new_section = W.class("LuaLogisticSection", {
  filters = function(st)
    local out = {}
    for i = 1, st.max do if st.slots[i] then out[#out + 1] = copy_filter(st.slots[i]) end end
    return out
  end,
  filters_count = function(st)
    local n = 0
    for i = 1, st.max do if st.slots[i] then n = i end end
    return n
  end,
  active = function(st) return st.active end,
  index = function(st) return st.index end,
  group = function() return "" end,
  multiplier = function() return 1 end,
  is_manual = function() return true end,
}, {
  filters = function(st, _, list)
    st.slots = {}
    st.max = 0
    for i, f in ipairs(list) do st.slots[i] = norm_filter(f); st.max = i end
    st.owner.changed = true
  end,
  active = function(st, _, v) st.active = not not v end,
}, {
  get_slot = function(st, _, i)
    local f = st.slots[i]
    if not f then return {} end
    return copy_filter(f)
  end,
  set_slot = function(st, _, i, f)
    st.slots[i] = norm_filter(f)
    if i > st.max then st.max = i end
    st.owner.changed = true
  end,
  clear_slot = function(st, _, i) st.slots[i] = nil end,
})

local function new_section_state(owner, index)
  return { owner = owner, index = index, slots = {}, max = 0, active = true }
end

--- Sections shared by LuaConstantCombinatorControlBehavior and LuaLogisticSections.
local section_getters = {
  sections_count = function(st) return #st.sections end,
  sections = function(st)
    local out = {}
    for i, s in ipairs(st.sections) do out[i] = s.proxy end
    return out
  end,
}
local section_methods = {
  get_section = function(st, _, i)
    local s = st.sections[i]
    return s and s.proxy or nil
  end,
  add_section = function(st)
    local s = new_section_state(st, #st.sections + 1)
    s.proxy = W.new_section(s)
    st.sections[#st.sections + 1] = s
    return s.proxy
  end,
  remove_section = function(st, _, i)
    local s = table.remove(st.sections, i)
    if not s then return false end
    s.valid = false
    for j, o in ipairs(st.sections) do o.index = j end
    return true
  end,
}

local function merged(t, extra)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  for k, v in pairs(extra) do out[k] = v end
  return out
end

W.new_control_behavior = W.class("LuaConstantCombinatorControlBehavior",
  merged(section_getters, {
    enabled = function(st) return st.enabled end,
    entity = function(st) return st.entity.proxy end,
  }),
  { enabled = function(st, _, v) st.enabled = not not v end },
  section_methods)

W.new_logistic_sections = W.class("LuaLogisticSections", section_getters, {}, section_methods)

--- State holder for a list of sections (control behaviour or requester sections).
function W.new_sections_state(entity_st)
  return { entity = entity_st, sections = {}, enabled = true }
end

--- Plain data for a section list, for saves.
function W.dump_sections(st)
  local out = { enabled = st.enabled, sections = {} }
  for i, s in ipairs(st.sections) do
    local slots = {}
    for j = 1, s.max do if s.slots[j] then slots[#slots + 1] = { j, copy_filter(s.slots[j]) } end end
    out.sections[i] = { active = s.active, slots = slots }
  end
  return out
end

function W.restore_sections(st, data)
  st.enabled = data.enabled
  st.sections = {}
  for i, d in ipairs(data.sections) do
    local s = new_section_state(st, i)
    s.active = d.active
    for _, pair in ipairs(d.slots) do
      s.slots[pair[1]] = pair[2]
      if pair[1] > s.max then s.max = pair[1] end
    end
    s.proxy = W.new_section(s)
    st.sections[i] = s
  end
end

return W

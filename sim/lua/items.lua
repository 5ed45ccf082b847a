-- factorio-sim: item stacks and inventories. An inventory is a row of slots; each slot holds
-- nothing or one stack with its own state: quality, health, spoil progress, ammo or durability
-- left, and for items with an item_number an equipment grid, an inventory, a label, tags or
-- blueprint contents. Stacks merge only with stacks of identical state.

local W, P = ...

local I = { next_item_number = 1 }

local function new_holder(slots) return { slots = slots, stacks = {} } end
I.new_holder = new_holder

local function count_arg(n, what)
  if type(n) ~= "number" or n ~= math.floor(n) or n < 0 or n > 4294967295 then
    error(what .. ": " .. tostring(n) .. " is not a valid item count", 4)
  end
  return n
end

--- A fresh stack state from an ItemStackDefinition-like table (name and quality checked).
local function make_stack(def, count)
  local proto = P.item(def.name)
  local st = { name = def.name, quality = P.quality(def.quality), count = count,
               health = def.health or 1, spoil = def.spoil_percent or 0 }
  if proto.type == "ammo" then st.ammo = def.ammo or proto.magazine_size end
  if proto.durability then st.durability = def.durability or proto.durability end
  if proto.numbered then
    st.item_number = I.next_item_number
    I.next_item_number = I.next_item_number + 1
    if def.tags then st.tags = def.tags end
  end
  return st
end

local function same_state(a, b)
  return a.name == b.name and a.quality == b.quality and a.health == b.health and a.spoil == b.spoil
    and a.ammo == b.ammo and a.durability == b.durability and not a.item_number and not b.item_number
end

local function shallow(st)
  local c = {}
  for k, v in pairs(st) do c[k] = v end
  return c
end

--- Copies a stack state (a new item_number for numbered items: a copy is a new item).
local function copy_stack(st)
  local c = shallow(st)
  if st.inventory then
    c.inventory = new_holder(st.inventory.slots)
    for i, s in pairs(st.inventory.stacks) do c.inventory.stacks[i] = copy_stack(s) end
  end
  if st.grid then c.grid = { width = st.grid.width, height = st.grid.height, equipment = {} } end
  if st.item_number then
    c.item_number = I.next_item_number
    I.next_item_number = I.next_item_number + 1
  end
  return c
end
I.copy_stack = copy_stack

--- Normalises an ItemStackIdentification: a name (a full stack), a definition table or a
--- LuaItemStack. Returns a stack state (not yet placed anywhere).
local function stack_arg(s)
  if type(s) == "string" then return make_stack({ name = s }, P.item(s).stack_size) end
  if W.class_of(s) == "LuaItemStack" then
    local src = I.stack_at(W.STATE[s])
    if not src then error("Item stack is empty", 3) end
    return copy_stack(src)
  end
  if type(s) ~= "table" or type(s.name) ~= "string" then error("Invalid ItemStackIdentification", 3) end
  return make_stack(s, count_arg(s.count or 1, "count"))
end
I.stack_arg = stack_arg

--- An ItemWithQualityID: a name, {name=, quality=} or a prototype; returns name, quality.
local function item_id(v)
  if type(v) == "string" then P.item(v); return v, "normal" end
  if W.class_of(v) == "LuaItemPrototype" then return W.STATE[v].name, "normal" end
  if type(v) ~= "table" then error("Invalid ItemWithQualityID", 3) end
  P.item(v.name)
  return v.name, P.quality(v.quality)
end

function I.stack_at(ref) return ref.holder.stacks[ref.i] end

--- Inserts as much of `st` as fits, merging with equal stacks first; returns the count put in.
local function insert_stack(h, st)
  local size = P.item(st.name).stack_size
  local left = st.count
  for i = 1, h.slots do
    local s = h.stacks[i]
    if left <= 0 then break end
    if s and same_state(s, st) and s.count < size then
      local n = math.min(size - s.count, left)
      s.count, left = s.count + n, left - n
    end
  end
  local first = true
  for i = 1, h.slots do
    if left <= 0 then break end
    if not h.stacks[i] then
      -- The first new stack is `st` itself (its item_number stays); any further one is a copy.
      local s = first and shallow(st) or copy_stack(st)
      first = false
      s.count = math.min(size, left)
      h.stacks[i] = s
      left = left - s.count
    end
  end
  return st.count - left
end
I.insert_stack = insert_stack

local function matching(h, name, quality, f)
  for i = 1, h.slots do
    local s = h.stacks[i]
    if s and s.name == name and s.quality == quality then
      if f(i, s) == false then return end
    end
  end
end

local new_grid = W.class("LuaEquipmentGrid", {
  width = function(st) return st.width end,
  height = function(st) return st.height end,
}, {}, {
  put = function(st, _, params)
    st.equipment[#st.equipment + 1] = { name = params.name, quality = P.quality(params.quality) }
    return nil -- the sim does not emulate LuaEquipment objects
  end,
  get_contents = function(st)
    local out = {}
    for _, e in ipairs(st.equipment) do out[#out + 1] = { name = e.name, quality = e.quality, count = 1 } end
    return out
  end,
  count = function(st, _, equipment)
    if equipment == nil then return #st.equipment end
    local n = 0
    for _, e in ipairs(st.equipment) do if e.name == equipment then n = n + 1 end end
    return n
  end,
})

local function kind(st, t) return P.item(st.name).type == t end

local function state_of(ref)
  local s = I.stack_at(ref)
  if not s then error("LuaItemStack: the stack is empty (valid_for_read is false)", 3) end
  return s
end

local function getter(f) return function(ref) return f(state_of(ref)) end end
local function is(t) return getter(function(s) return kind(s, t) end) end

I.new_stack = W.class("LuaItemStack", {
  valid_for_read = function(ref) return I.stack_at(ref) ~= nil end,
  name = getter(function(s) return s.name end),
  count = getter(function(s) return s.count end),
  quality = getter(function(s) return P.raw.quality[s.quality].proxy end),
  prototype = getter(function(s) return P.item(s.name).proxy end),
  type = getter(function(s) return P.item(s.name).type end),
  health = getter(function(s) return s.health end),
  spoil_percent = getter(function(s) return s.spoil end),
  item_number = getter(function(s) return s.item_number end),
  ammo = getter(function(s)
    if not kind(s, "ammo") then error("LuaItemStack::ammo: not an ammo item", 4) end
    return s.ammo
  end),
  durability = getter(function(s)
    if not s.durability then error("LuaItemStack::durability: not a tool", 4) end
    return s.durability
  end),
  grid = getter(function(s) return s.grid and new_grid(s.grid) or nil end),
  label = getter(function(s) return s.label end),
  tags = getter(function(s) return s.tags or {} end),
  is_blueprint = is("blueprint"), is_blueprint_book = is("blueprint-book"),
  is_armor = is("armor"), is_ammo = is("ammo"),
  -- Repair tools are tools (their prototype extends the tool's): both have durability.
  is_tool = getter(function(s) return kind(s, "tool") or kind(s, "repair-tool") end),
  is_item_with_inventory = is("item-with-inventory"), is_item_with_label = is("item-with-label"),
  is_item_with_tags = is("item-with-tags"), is_deconstruction_item = is("deconstruction-item"),
  is_upgrade_item = is("upgrade-item"), is_selection_tool = is("selection-tool"),
}, {
  count = function(ref, _, v)
    local s = state_of(ref)
    count_arg(v, "count")
    if v == 0 then ref.holder.stacks[ref.i] = nil else s.count = v end
  end,
  health = function(ref, _, v) state_of(ref).health = math.max(0, math.min(1, v)) end,
  spoil_percent = function(ref, _, v)
    local s = state_of(ref)
    if (P.item(s.name).spoil_ticks or 0) == 0 then error("LuaItemStack::spoil_percent: item does not spoil", 3) end
    s.spoil = v
  end,
  ammo = function(ref, _, v) state_of(ref).ammo = v end,
  durability = function(ref, _, v) state_of(ref).durability = v end,
  label = function(ref, _, v) state_of(ref).label = v end,
  tags = function(ref, _, v) state_of(ref).tags = v end,
}, {
  clear = function(ref) ref.holder.stacks[ref.i] = nil end,
  set_stack = function(ref, _, stack)
    if stack == nil then ref.holder.stacks[ref.i] = nil; return true end
    ref.holder.stacks[ref.i] = stack_arg(stack)
    return true
  end,
  create_grid = function(ref)
    local s = state_of(ref)
    local g = P.item(s.name).equipment_grid
    if not g then error("LuaItemStack::create_grid: this item has no equipment grid", 3) end
    s.grid = s.grid or { width = g.width, height = g.height, equipment = {} }
    return new_grid(s.grid)
  end,
  get_inventory = function(ref, _, inventory)
    local s = state_of(ref)
    local size = P.item(s.name).inventory_size
    if not size or inventory ~= defines.inventory.item_main then return nil end
    s.inventory = s.inventory or new_holder(size)
    return I.new_inventory(s.inventory)
  end,
  is_blueprint_setup = function(ref)
    local s = state_of(ref)
    return kind(s, "blueprint") and s.blueprint ~= nil and #s.blueprint > 0
  end,
  get_blueprint_entities = function(ref)
    local s = state_of(ref)
    if not s.blueprint then return nil end
    local out = {}
    for i, e in ipairs(s.blueprint) do
      out[i] = { entity_number = i, name = e.name, position = { x = e.position.x, y = e.position.y },
                 tags = e.tags }
    end
    return out
  end,
  set_blueprint_entity_tag = function(ref, _, index, tag, value)
    local e = (state_of(ref).blueprint or {})[index]
    if not e then error("Blueprint entity index out of range", 3) end
    e.tags = e.tags or {}
    e.tags[tag] = value
  end,
  get_blueprint_entity_tag = function(ref, _, index, tag)
    local e = (state_of(ref).blueprint or {})[index]
    return e and e.tags and e.tags[tag] or nil
  end,
})

I.new_inventory = W.class("LuaInventory", {
  index = function(h) return h.index end,
}, {}, {
  insert = function(h, _, items)
    local st = stack_arg(items)
    return insert_stack(h, st)
  end,
  remove = function(h, _, items)
    local st = stack_arg(items)
    local left = st.count
    matching(h, st.name, st.quality, function(i, s)
      local n = math.min(s.count, left)
      s.count, left = s.count - n, left - n
      if s.count == 0 then h.stacks[i] = nil end
      return left > 0
    end)
    return st.count - left
  end,
  get_item_count = function(h, _, item)
    local n = 0
    if item == nil then
      for i = 1, h.slots do if h.stacks[i] then n = n + h.stacks[i].count end end
      return n
    end
    local name, quality = item_id(item)
    matching(h, name, quality, function(_, s) n = n + s.count end)
    return n
  end,
  get_contents = function(h)
    local sum, out = {}, {}
    for i = 1, h.slots do
      local s = h.stacks[i]
      if s then
        local key = s.name .. "\0" .. s.quality
        if not sum[key] then
          sum[key] = { name = s.name, quality = s.quality, count = 0 }
          out[#out + 1] = sum[key]
        end
        sum[key].count = sum[key].count + s.count
      end
    end
    table.sort(out, function(a, b) return a.name == b.name and a.quality < b.quality or a.name < b.name end)
    return out
  end,
  get_insertable_count = function(h, _, item)
    local name, quality = item_id(item)
    local size, n = P.item(name).stack_size, 0
    for i = 1, h.slots do
      local s = h.stacks[i]
      if not s then n = n + size
      elseif s.name == name and s.quality == quality and s.health == 1 and s.spoil == 0
          and not s.item_number then n = n + size - s.count end
    end
    return n
  end,
  can_insert = function(h, _, items)
    local probe = { slots = h.slots, stacks = {} }
    for i, s in pairs(h.stacks) do probe.stacks[i] = shallow(s) end
    return insert_stack(probe, stack_arg(items)) > 0
  end,
  is_empty = function(h) return next(h.stacks) == nil end,
  clear = function(h) h.stacks = {} end,
}, {
  len = function(h) return h.slots end,
  index_get = function(h, i)
    if i < 1 or i > h.slots then error("Index out of range: " .. i, 3) end
    h.refs = h.refs or {}
    local r = h.refs[i]
    if not r then
      r = I.new_stack({ holder = h, i = i })
      h.refs[i] = r
    end
    return r
  end,
})

--- Plain data for saves (stacks by slot) and back.
function I.dump(h)
  local out = { slots = h.slots, stacks = {} }
  for i = 1, h.slots do
    local s = h.stacks[i]
    if s then
      local d = { i = i }
      for k, v in pairs(s) do d[k] = v end
      if s.inventory then d.inventory = I.dump(s.inventory) end
      out.stacks[#out.stacks + 1] = d
    end
  end
  return out
end

function I.restore(h, d)
  h.slots, h.stacks = d.slots, {}
  for _, s in ipairs(d.stacks) do
    local i = s.i
    s.i = nil
    if s.inventory then
      local inner = new_holder(0)
      I.restore(inner, s.inventory)
      s.inventory = inner
    end
    h.stacks[i] = s
  end
end

return I

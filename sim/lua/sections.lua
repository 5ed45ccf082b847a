-- factorio-sim: logistic sections, as used by requester chests (their requests) and constant
-- combinators (their output signals). A section holds at most 1,000 filters; it has a
-- multiplier and an active flag, and may belong to a logistic group of its force, whose filters
-- all member sections share (writing one writes the group).

local W, P = ...

local S = {}

--- utility-constants' max_logistic_filter_count.
S.MAX_FILTERS = 1000

--- force name -> group name -> {slots=, max=}: the logistic groups' shared filters.
S.groups = {}

local function slots_of(sec)
  if sec.group == "" then return sec end
  local force = sec.owner.entity.force
  S.groups[force] = S.groups[force] or {}
  local g = S.groups[force][sec.group]
  if not g then
    g = { slots = sec.slots, max = sec.max } -- a new group starts with the section's filters
    S.groups[force][sec.group] = g
  end
  return g
end

--- A LogisticFilterWrite, checked as the game checks it, in the sim's read form.
local function norm_filter(f)
  if f == nil then return nil end
  local min = f.min ~= nil and W.int32(f.min, "LogisticFilter min") or nil
  local v = f.value
  if v == nil then error("LogisticFilter needs a value", 4) end
  if type(v) == "table" and (min or 0) ~= 0 then
    if v.quality == nil then error("LogisticFilter: quality is mandatory when min is non-zero", 4) end
    if v.comparator ~= nil and v.comparator ~= "=" then
      error("LogisticFilter: comparator must be \"=\" when min is non-zero", 4)
    end
  end
  -- A bare name is an item or a virtual signal, of normal quality.
  local id = type(v) == "table" and P.signal_id(v) or P.signal_id(P.raw.item[v] and v or { type = "virtual", name = v })
  return { value = { type = id.type, name = id.name, quality = id.quality, comparator = "=" }, min = min or 0 }
end

local function copy_filter(f)
  local v = f.value
  -- Reading, an item's type is nil: the API leaves it out.
  return { value = { type = v.type ~= "item" and v.type or nil, name = v.name, quality = v.quality,
                     comparator = v.comparator }, min = f.min }
end

local function check_slot(i)
  W.int32(i, "slot index")
  if i < 1 or i > S.MAX_FILTERS then error("Slot index " .. i .. " is out of range (1 to 1000)", 4) end
end

S.new_section = W.class("LuaLogisticSection", {
  filters = function(sec)
    local h, out = slots_of(sec), {}
    for i = 1, h.max do if h.slots[i] then out[#out + 1] = copy_filter(h.slots[i]) end end
    return out
  end,
  filters_count = function(sec)
    local h, n = slots_of(sec), 0
    for i = 1, h.max do if h.slots[i] then n = i end end
    return n
  end,
  active = function(sec) return sec.active end,
  index = function(sec) return sec.index end,
  group = function(sec) return sec.group end,
  multiplier = function(sec) return sec.multiplier end,
  is_manual = function() return true end,
  owner = function(sec) return sec.owner.entity.proxy end,
}, {
  filters = function(sec, _, list)
    if #list > S.MAX_FILTERS then
      error("A logistic section holds at most " .. S.MAX_FILTERS .. " filters, not " .. #list, 3)
    end
    local slots = {}
    for i, f in ipairs(list) do slots[i] = norm_filter(f) end
    local h = slots_of(sec)
    h.slots, h.max = slots, #list
  end,
  active = function(sec, _, v) sec.active = not not v end,
  multiplier = function(sec, _, v)
    if type(v) ~= "number" or v < 0 then error("multiplier must be a non-negative number", 3) end
    sec.multiplier = v
  end,
  group = function(sec, _, v)
    if type(v) ~= "string" then error("group must be a string", 3) end
    local h = slots_of(sec)
    sec.group = v
    if v == "" then sec.slots, sec.max = h.slots, h.max else slots_of(sec) end
  end,
}, {
  get_slot = function(sec, _, slot_index)
    check_slot(slot_index)
    local f = slots_of(sec).slots[slot_index]
    return f and copy_filter(f) or {}
  end,
  set_slot = function(sec, _, slot_index, filter)
    check_slot(slot_index)
    local h = slots_of(sec)
    h.slots[slot_index] = norm_filter(filter)
    if slot_index > h.max then h.max = slot_index end
    return nil
  end,
  clear_slot = function(sec, _, slot_index)
    check_slot(slot_index)
    slots_of(sec).slots[slot_index] = nil
  end,
})

local function new_section_state(owner, index, group)
  local sec = { owner = owner, index = index, slots = {}, max = 0, active = true, multiplier = 1,
                group = group or "" }
  sec.proxy = S.new_section(sec)
  return sec
end

local section_getters = {
  sections_count = function(st) return #st.sections end,
  sections = function(st)
    local out = {}
    for i, s in ipairs(st.sections) do out[i] = s.proxy end
    return out
  end,
}
local section_methods = {
  get_section = function(st, _, section_index)
    local s = st.sections[section_index]
    return s and s.proxy or nil
  end,
  add_section = function(st, _, group)
    local s = new_section_state(st, #st.sections + 1, group)
    st.sections[#st.sections + 1] = s
    if s.group ~= "" then slots_of(s) end
    return s.proxy
  end,
  remove_section = function(st, _, section_index)
    local s = table.remove(st.sections, section_index)
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

S.new_control_behavior = W.class("LuaConstantCombinatorControlBehavior",
  merged(section_getters, {
    enabled = function(st) return st.enabled end,
    entity = function(st) return st.entity.proxy end,
  }),
  { enabled = function(st, _, v) st.enabled = not not v end },
  section_methods)

S.new_logistic_sections = W.class("LuaLogisticSections", section_getters, {}, section_methods)

--- State for an entity's list of sections; it starts with one empty section, as in the game.
function S.new_owner(entity_st)
  local st = { entity = entity_st, sections = {}, enabled = true }
  st.sections[1] = new_section_state(st, 1)
  return st
end

--- Plain data for saves and back.
function S.dump(st)
  local out = { enabled = st.enabled, sections = {} }
  for i, s in ipairs(st.sections) do
    local slots = {}
    for j = 1, s.max do if s.slots[j] then slots[#slots + 1] = { j, s.slots[j] } end end
    out.sections[i] = { active = s.active, multiplier = s.multiplier, group = s.group, slots = slots }
  end
  return out
end

function S.restore(st, data)
  st.enabled = data.enabled
  st.sections = {}
  for i, d in ipairs(data.sections) do
    local s = new_section_state(st, i, d.group)
    s.active, s.multiplier = d.active, d.multiplier or 1
    for _, pair in ipairs(d.slots) do
      s.slots[pair[1]] = pair[2]
      if pair[1] > s.max then s.max = pair[1] end
    end
    st.sections[i] = s
  end
end

function S.dump_groups()
  local out = {}
  for force, groups in pairs(S.groups) do
    for name, g in pairs(groups) do
      local slots = {}
      for j = 1, g.max do if g.slots[j] then slots[#slots + 1] = { j, g.slots[j] } end end
      out[#out + 1] = { force = force, name = name, slots = slots }
    end
  end
  return out
end

function S.restore_groups(list)
  S.groups = {}
  for _, d in ipairs(list or {}) do
    local g = { slots = {}, max = 0 }
    for _, pair in ipairs(d.slots) do
      g.slots[pair[1]] = pair[2]
      if pair[1] > g.max then g.max = pair[1] end
    end
    S.groups[d.force] = S.groups[d.force] or {}
    S.groups[d.force][d.name] = g
  end
end

--- Copies another owner's sections (cloning an entity).
function S.copy(dst, src)
  S.restore(dst, S.dump(src))
end

return S

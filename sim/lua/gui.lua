-- factorio-sim: a player's GUI (LuaGui, LuaGuiElement): element trees under the `relative` and
-- `screen` roots, with the element types, fields and checks mods use to add a panel to an
-- entity's window. Nothing is drawn; a scenario or test plays the player's part through the
-- sim helpers in players.lua.

local W, P = ...

local G = {}

local element_types = { frame = true, flow = true, label = true, button = true, ["sprite-button"] = true,
  ["choose-elem-button"] = true, line = true, ["empty-widget"] = true, table = true }
--- Keys LuaGuiElement::add understands here; the value a chooser starts with is keyed by its
--- elem_type (`fluid = "water"`).
local add_keys = { type = true, name = true, caption = true, tooltip = true, elem_type = true,
  tags = true, anchor = true, direction = true, style = true, column_count = true, fluid = true }

local copy = W.copy

local function check_anchor(a)
  if type(a) ~= "table" then error("anchor must be a GuiAnchor table", 4) end
  local gui, pos = false, false
  for _, v in pairs(defines.relative_gui_type) do gui = gui or v == a.gui end
  for _, v in pairs(defines.relative_gui_position) do pos = pos or v == a.position end
  if not gui or not pos then error("GuiAnchor needs a valid gui and position", 4) end
  return copy(a)
end

local function check_value(el, v)
  if v == nil then return nil end
  if el.elem_type ~= "fluid" then W.unemulated("choose-elem-button of elem_type " .. tostring(el.elem_type)) end
  if type(v) ~= "string" or not P.raw.fluid[v] then error("Unknown fluid: " .. tostring(v), 4) end
  return v
end

local function element_proxy(el)
  el.proxy = el.proxy or G.new_element(el)
  return el.proxy
end

local function add(parent, spec)
  if type(spec) ~= "table" or not element_types[spec.type] then
    error("LuaGuiElement::add: unknown element type " .. tostring(spec and spec.type), 3)
  end
  for k in pairs(spec) do
    if not add_keys[k] then W.unemulated("LuaGuiElement::add{" .. tostring(k) .. "=}") end
  end
  if spec.name then
    for _, c in ipairs(parent.children) do
      if c.name == spec.name then
        error("Gui element with name " .. spec.name .. " already present in the parent element.", 3)
      end
    end
  end
  if spec.type == "choose-elem-button" and not spec.elem_type then
    error("choose-elem-button needs an elem_type", 3)
  end
  local el = { type = spec.type, name = spec.name or "", caption = spec.caption, tags = copy(spec.tags) or {},
               elem_type = spec.elem_type, parent = parent, children = {}, player = parent.player }
  if spec.anchor then
    if not parent.is_relative_root then error("anchor is only for children of gui.relative", 3) end
    el.anchor = check_anchor(spec.anchor)
  end
  if spec.fluid then el.elem_value = check_value(el, spec.fluid) end
  parent.children[#parent.children + 1] = el
  return element_proxy(el)
end

local function destroy(el)
  el.valid = false
  for _, c in ipairs(el.children) do destroy(c) end
  el.children = {}
end

G.new_element = W.class("LuaGuiElement", {
  name = function(el) return el.name end,
  type = function(el) return el.type end,
  caption = function(el) return el.caption end,
  tags = function(el) return copy(el.tags) end,
  elem_type = function(el) return el.elem_type end,
  elem_value = function(el) return el.elem_value end,
  anchor = function(el) return copy(el.anchor) end,
  parent = function(el) return el.parent and element_proxy(el.parent) or nil end,
  children = function(el)
    local out = {}
    for i, c in ipairs(el.children) do out[i] = element_proxy(c) end
    return out
  end,
  index = function(el)
    for i, c in ipairs(el.parent and el.parent.children or {}) do if c == el then return i end end
    return 0
  end,
  player_index = function(el) return el.player.index end,
  gui = function(el) return el.player.gui.proxy end,
}, {
  name = function(el, _, v) el.name = tostring(v) end,
  caption = function(el, _, v) el.caption = v end,
  tags = function(el, _, v) el.tags = copy(v) end,
  elem_value = function(el, _, v) el.elem_value = check_value(el, v) end,
  anchor = function(el, _, v) el.anchor = v and check_anchor(v) or nil end,
}, {
  add = function(el, _, element) return add(el, element) end,
  destroy = function(el)
    if not el.parent then error("Root GUI elements cannot be destroyed", 3) end
    for i, c in ipairs(el.parent.children) do
      if c == el then table.remove(el.parent.children, i); break end
    end
    destroy(el)
  end,
  clear = function(el)
    for _, c in ipairs(el.children) do destroy(c) end
    el.children = {}
  end,
}, {
  key_get = function(el, k)
    for _, c in ipairs(el.children) do if c.name == k then return element_proxy(c) end end
    return nil
  end,
})

local new_gui = W.class("LuaGui", {
  relative = function(g) return element_proxy(g.relative) end,
  screen = function(g) return element_proxy(g.screen) end,
  player = function(g) return g.player.proxy end,
}, {}, {})

--- A player's GUI roots.
function G.new_gui(player)
  local g = { player = player }
  g.relative = { type = "empty-widget", name = "relative", children = {}, player = player, tags = {},
                 is_relative_root = true }
  g.screen = { type = "empty-widget", name = "screen", children = {}, player = player, tags = {} }
  g.proxy = new_gui(g)
  return g
end

--- Sim-only: the player changes a chooser's value (on_gui_elem_changed follows).
function G.choose(element, value)
  local el = W.STATE[element]
  if el.type ~= "choose-elem-button" then error("not a choose-elem-button", 3) end
  el.elem_value = check_value(el, value)
end

return G

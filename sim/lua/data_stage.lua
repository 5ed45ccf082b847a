-- factorio-sim: the settings and data stages, and the checks the game makes on what they leave
-- in data.raw: data:extend takes an array; prototype names use letters, digits, '-' and '_';
-- prototypes of the types below have their required fields; icons are PNGs in the mod at least
-- as large as stated; subgroups, groups, ingredients, results, place results and mining
-- results name prototypes that exist.

local base_env, install_require, P = ...

local D = {}

--- Required fields (besides type and name) of the prototype types the sim checks; tests/api
--- holds this table against the API's prototype definitions.
D.REQUIRED = {
  item = { "stack_size" }, tool = { "stack_size" }, armor = { "stack_size" },
  ammo = { "ammo_category", "ammo_type", "stack_size" }, capsule = { "capsule_action", "stack_size" },
  blueprint = { "alt_select", "select", "stack_size" }, ["repair-tool"] = { "speed", "stack_size" },
  ["item-with-inventory"] = { "inventory_size", "stack_size" }, ["item-with-tags"] = { "stack_size" },
  fluid = { "base_color", "default_temperature", "flow_color" }, ["virtual-signal"] = {},
  recipe = {}, ["item-subgroup"] = { "group" }, ["item-group"] = {}, quality = { "color", "level" },
  container = { "inventory_size" }, ["logistic-container"] = { "inventory_size", "logistic_mode" },
  ["storage-tank"] = { "flow_length_in_ticks", "fluid_box", "window_bounding_box" },
  ["constant-combinator"] = { "activity_led_light_offsets", "circuit_wire_connection_points" },
  ["equipment-grid"] = { "equipment_categories", "height", "width" },
}
--- Types that show an icon: `icon` or `icons` is mandatory.
local with_icon = { fluid = true, ["virtual-signal"] = true, ["item-group"] = true, quality = true }
for _, t in ipairs(P.item_types) do with_icon[t] = true end

local function block(v)
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. " = " .. (type(x) == "table" and "{...}" or tostring(x)) end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end

--- data.extend as the game's data loader has it: an array of prototypes, each with a type and
--- a name; data.extend{...} and data:extend{...} both work.
local function new_data()
  local data = { raw = {}, is_demo = false }
  function data.extend(self, otherdata)
    if self ~= data and otherdata == nil then otherdata = self end
    if type(otherdata) ~= "table" then error("Invalid array of prototypes:\n\n" .. block(otherdata), 2) end
    if #otherdata == 0 then
      if otherdata.type or otherdata.name then
        error("Expected array of prototypes, but got a single prototype:\n\n" .. block(otherdata), 2)
      end
      error("Invalid array of prototypes:\n\n" .. block(otherdata), 2)
    end
    for _, e in ipairs(otherdata) do
      if type(e.type) ~= "string" then error("Missing type in the following prototype definition " .. block(e), 2) end
      if type(e.name) ~= "string" then error("Missing name in the following prototype definition " .. block(e), 2) end
      data.raw[e.type] = data.raw[e.type] or {}
      data.raw[e.type][e.name] = e
    end
  end
  return data
end

local function fail(p, msg)
  error(msg .. "\n\nSource: " .. tostring(p.name) .. " (" .. tostring(p.type) .. ").", 0)
end

--- Width and height of a PNG (from its IHDR chunk), or nil.
local function png_size(bytes)
  if not bytes or #bytes < 24 or bytes:sub(1, 8) ~= "\137PNG\r\n\26\n" or bytes:sub(13, 16) ~= "IHDR" then return nil end
  local function u32(at)
    local a, b, c, d = bytes:byte(at, at + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  return u32(17), u32(21)
end

local function check_icon(p, file, size, files_of)
  local mod, rel = tostring(file):match("^__([%w%-_]+)__/(.+)$")
  local files = mod and files_of(mod)
  if not files or not files[rel] then fail(p, "File not found: " .. tostring(file)) end
  local w, h = png_size(files[rel])
  if not w then fail(p, "Not a PNG image: " .. file) end
  if w < size or h < size then
    fail(p, "The icon " .. file .. " is " .. w .. "x" .. h .. ", smaller than its stated size " .. size)
  end
end

local function check_icons(p, files_of)
  if p.icons then
    for _, layer in ipairs(p.icons) do check_icon(p, layer.icon, layer.icon_size or 64, files_of) end
  elseif p.icon then
    check_icon(p, p.icon, p.icon_size or 64, files_of)
  elseif with_icon[p.type] then
    fail(p, "Either icons or icon must be defined.")
  end
end

local function exists(raw, types, name)
  for _, t in ipairs(types) do if raw[t] and raw[t][name] then return true end end
  return false
end

local function check_refs(raw, p)
  local function must(types, name, what)
    if name ~= nil and not exists(raw, types, name) then
      fail(p, "Error in assignID: " .. what .. " with name '" .. tostring(name) .. "' does not exist.")
    end
  end
  must({ "item-subgroup" }, p.subgroup, "item-subgroup")
  if p.type == "item-subgroup" then must({ "item-group" }, p.group, "item-group") end
  if p.type == "recipe" then
    for _, list in ipairs({ p.ingredients or {}, p.results or {} }) do
      for _, r in ipairs(list) do
        if r.type ~= "item" and r.type ~= "fluid" then fail(p, "Ingredient or result without type \"item\" or \"fluid\"") end
        must(r.type == "item" and P.item_types or { "fluid" }, r.name, r.type)
      end
    end
  end
  if with_icon[p.type] and p.place_result then
    local entity_types = {}
    for t in pairs(raw) do if not with_icon[t] and t ~= "recipe" then entity_types[#entity_types + 1] = t end end
    must(entity_types, p.place_result, "entity")
  end
  if p.minable and p.minable.result then must(P.item_types, p.minable.result, "item") end
end

--- The checks the game makes once all data stages ran.
local function check(raw, files_of)
  for t, protos in pairs(raw) do
    for name, p in pairs(protos) do
      if not name:match("^[%w%-_]+$") then fail(p, "Prototype names may only contain letters, digits, '-' and '_'") end
      for _, field in ipairs(D.REQUIRED[t] or {}) do
        if p[field] == nil then fail(p, "Key \"" .. field .. "\" not found in property tree at ROOT." .. t .. "." .. name) end
      end
      check_icons(p, files_of)
      check_refs(raw, p)
    end
  end
end

--- Runs settings.lua, data.lua and their -updates/-final-fixes of every mod (in load order) in
--- one shared environment, as the game does; returns data.raw. `read_settings(raw)` runs between
--- the two stages and returns the startup settings' values that data.lua sees.
function D.run(mods, mod_by_name, deepcopy, read_settings)
  local data = new_data()
  local env = base_env("data")
  env.data = data
  env.mods = {}
  env.defines = defines
  env.table = setmetatable({ deepcopy = deepcopy }, { __index = table })
  env.util = { table = { deepcopy = deepcopy }, copy = deepcopy }
  env.settings = { startup = {} }
  for _, m in ipairs(mods) do env.mods[m.name] = m.version end
  local files_of = function(n) return mod_by_name[n] and mod_by_name[n].files end
  local function stage(file)
    for _, m in ipairs(mods) do
      local src = m.files[file]
      if src then
        install_require(env, files_of, m.name)
        local chunk, err = load(src, "@__" .. m.name .. "__/" .. file, "t", env)
        if not chunk then error(err, 0) end
        chunk()
      end
    end
  end
  for _, f in ipairs({ "settings.lua", "settings-updates.lua", "settings-final-fixes.lua" }) do stage(f) end
  env.settings.startup = read_settings(data.raw)
  for _, f in ipairs({ "data.lua", "data-updates.lua", "data-final-fixes.lua" }) do stage(f) end
  check(data.raw, files_of)
  return data.raw
end

return D

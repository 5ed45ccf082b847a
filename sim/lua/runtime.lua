-- factorio-sim runtime: the settings/data stages and the control stage of the emulated Factorio
-- 2.0 API (script, remote, game, storage, helpers, rcon, settings, prototypes, defines). Called
-- from C++ (sim/lua_host.cpp) through the table this chunk returns.
--
-- Each mod and the scenario ("level") get their own environment, like Factorio's separate Lua
-- states: own `storage`, `script` registrations and `require` cache, sharing the world.

local native, dir = ...
local W = dofile(dir .. "/world.lua")

local SIM = {}

local event_names = {
  "on_tick", "on_built_entity", "on_robot_built_entity", "on_space_platform_built_entity",
  "script_raised_built", "script_raised_revive", "on_entity_cloned", "on_player_mined_entity",
  "on_robot_mined_entity", "on_space_platform_mined_entity", "on_entity_died",
  "script_raised_destroy", "on_pre_player_mined_item", "on_robot_pre_mined",
  "on_runtime_mod_setting_changed", "on_player_joined_game", "on_player_left_game",
  "on_player_created", "on_entity_settings_pasted", "on_gui_opened", "on_gui_closed",
  "on_surface_created", "on_marked_for_deconstruction", "on_object_destroyed",
}
defines = {
  events = {},
  inventory = { chest = 1, fuel = 1, main = 1 },
  wire_connector_id = { circuit_red = 1, circuit_green = 2 },
  control_behavior = { type = { constant_combinator = 10 } },
  disconnect_reason = { quit = 0, dropped = 1, kicked = 3 },
}
for i, n in ipairs(event_names) do defines.events[n] = i - 1 end
local next_event_id = #event_names

---------------------------------------------------------------------------------------------------
-- Events: handlers[id] = { {env=, f=}, ... } in load order; nth_tick[n] likewise.

local envs, env_order = {}, {}       -- name -> env; names in load order (mods, then level)
local handlers, nth_tick = {}, {}
local mod_time = 0                   -- CPU seconds spent in mod (not level) handlers this tick
local cpu_clock = native.cpu_clock

local function timed(env, f, arg)
  if env.__is_level then return f(arg) end
  local t0 = cpu_clock()
  f(arg)
  mod_time = mod_time + (cpu_clock() - t0)
end

local events = {}
function events.raise(id, data)
  local list = handlers[id]
  if not list then return end
  data.name, data.tick = id, game.tick
  for _, h in ipairs(list) do timed(h.env, h.f, data) end
end
local E = loadfile(dir .. "/entities.lua")(W, events)

local function set_handler(tbl, key, env, f)
  local list = tbl[key] or {}
  for i, h in ipairs(list) do
    if h.env == env then table.remove(list, i); break end
  end
  if f then list[#list + 1] = { env = env, f = f } end
  tbl[key] = list
end

---------------------------------------------------------------------------------------------------
-- Copying across the remote interface boundary: no functions or metatables, LuaObjects survive.

local function deep_copy(v, depth)
  depth = depth or 0
  if depth > 100 then error("remote.call: table nesting too deep", 0) end
  local t = type(v)
  if t == "function" then error("remote.call: functions cannot be passed", 0) end
  if t ~= "table" or W.STATE[v] then return v end
  local out = {}
  for k, x in pairs(v) do out[deep_copy(k, depth + 1)] = deep_copy(x, depth + 1) end
  return out
end

local interfaces = {}
remote = {
  add_interface = function(name, funcs)
    if interfaces[name] then error("Remote interface with name " .. name .. " already exists.", 2) end
    interfaces[name] = funcs
  end,
  remove_interface = function(name)
    local had = interfaces[name] ~= nil
    interfaces[name] = nil
    return had
  end,
  call = function(iface, fn, ...)
    local i = interfaces[iface]
    if not i then error("Unknown interface: " .. tostring(iface), 2) end
    local f = i[fn]
    if type(f) ~= "function" then
      error("No such function: " .. tostring(fn) .. " in interface " .. tostring(iface), 2)
    end
    local args = deep_copy({ ... })
    return deep_copy(f(table.unpack(args, 1, select("#", ...))))
  end,
}
remote.interfaces = setmetatable({}, { __index = function(_, k)
  local i = interfaces[k]
  if not i then return nil end
  local names = {}
  for n in pairs(i) do names[n] = true end
  return names
end })

---------------------------------------------------------------------------------------------------
-- game, helpers, rcon, settings, prototypes.

local world = { tick = 0, achievements = true, scenario_name = "", scenario_source = "" }
local rcon_buffer = nil

game = W.class("LuaGameScript", {
  tick = function() return world.tick end,
  ticks_played = function() return world.tick end,
  tick_paused = function() return false end,
  speed = function() return 1 end,
  connected_players = function()
    local out = {}
    for _, p in ipairs(E.players) do if p.connected then out[#out + 1] = p.proxy end end
    return out
  end,
  players = function()
    local out = {}
    for i, p in ipairs(E.players) do out[i] = p.proxy; out[p.name] = p.proxy end
    return out
  end,
  surfaces = function()
    local out = {}
    for i, s in ipairs(E.surfaces) do out[i] = s.proxy; out[s.name] = s.proxy end
    return out
  end,
  forces = function()
    local out = {}
    for n, f in pairs(E.forces) do out[n] = f.proxy; out[f.index] = f.proxy end
    return out
  end,
}, {}, {
  get_surface = function(_, _, k)
    for _, s in ipairs(E.surfaces) do if s.index == k or s.name == k then return s.proxy end end
    return nil
  end,
  get_entity_by_unit_number = function(_, _, n)
    local st = E.by_unit[n]
    return st and st.proxy or nil
  end,
  print = function(_, _, msg) native.log_line("[CHAT] " .. tostring(msg)) end,
})({})

helpers = W.class("LuaHelpers", {}, {}, {
  table_to_json = function(_, _, t) return native.table_to_json(t) end,
  json_to_table = function(_, _, s) return native.json_to_table(s) end,
  write_file = function(_, _, name, data, append, for_player)
    if for_player ~= nil and for_player ~= 0 then return end -- only the server writes with 0
    native.write_file(name, tostring(data), append)
  end,
})({})

rcon = W.class("LuaRCON", {}, {}, {
  print = function(_, _, s)
    if rcon_buffer then rcon_buffer[#rcon_buffer + 1] = tostring(s) .. "\n" end
  end,
})({})

local setting_protos, setting_values = {}, {}
local function setting_table(kind)
  return setmetatable({}, {
    __index = function(_, name)
      local p = setting_protos[name]
      if not p or p.setting_type ~= kind then return nil end
      return { value = setting_values[name] }
    end,
    __newindex = function(_, name, v)
      if kind ~= "runtime-global" then error("startup settings are read-only", 2) end
      local p = setting_protos[name]
      if not p then error("Unknown setting: " .. tostring(name), 2) end
      if type(v) ~= "table" or v.value == nil then error("expected {value=...}", 2) end
      setting_values[name] = v.value
      events.raise(defines.events.on_runtime_mod_setting_changed,
                   { setting = name, setting_type = "runtime-global" })
    end,
  })
end
settings = { startup = setting_table("startup"), global = setting_table("runtime-global"),
             player = setmetatable({}, { __index = function() W.unemulated("settings.player") end }) }

prototypes = W.protos

local function unemulated_global(name)
  return setmetatable({}, { __index = function(_, k) W.unemulated(name .. "." .. tostring(k)) end })
end

---------------------------------------------------------------------------------------------------
-- Environments and require.

local shared_names = { "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal",
  "rawget", "rawlen", "rawset", "select", "setmetatable", "getmetatable", "tonumber",
  "tostring", "type", "xpcall", "unpack", "string", "table", "math", "bit32" }

local function base_env(mod_name)
  local env = {}
  for _, n in ipairs(shared_names) do env[n] = _G[n] end
  env.debug = { traceback = debug.traceback, getinfo = debug.getinfo }
  env.load = function(chunk, name, mode, e)
    if mode ~= nil and mode ~= "t" then error("only text chunks can be loaded", 2) end
    return load(chunk, name, "t", e or env)
  end
  env.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    native.print(table.concat(parts, "\t"))
  end
  env.localised_print = function(s) native.print(tostring(s)) end
  env.log = function(s) native.log_line("Script @__" .. mod_name .. "__: " .. tostring(s)) end
  env.table_size = function(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return n
  end
  env.serpent = unemulated_global("serpent")
  env._G = env
  return env
end

local function install_require(env, files_of, default_mod)
  local loaded = {}
  env.package = { loaded = loaded }
  env.require = function(path)
    local mod, rel = path:match("^__([%w%-_]+)__[/.](.+)$")
    mod = mod or default_mod
    rel = rel or path
    rel = rel:gsub("%.lua$", "")
    if not rel:find("/") then rel = rel:gsub("%.", "/") end
    local key = mod .. "/" .. rel
    if loaded[key] ~= nil then return loaded[key] end
    local files = files_of(mod)
    local src = files and files[rel .. ".lua"]
    if not src then error("module " .. path .. " not found (factorio-sim looks in __" .. mod .. "__)", 2) end
    local chunk, err = load(src, "@__" .. mod .. "__/" .. rel .. ".lua", "t", env)
    if not chunk then error(err, 2) end
    local r = chunk()
    if r == nil then r = true end
    loaded[key] = r
    return r
  end
end

local mods = {}                  -- { name=, version=, files= } in load order
local mod_by_name = {}

local function deepcopy(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = deepcopy(v) end
  return setmetatable(out, getmetatable(t))
end

---------------------------------------------------------------------------------------------------
-- Settings and data stages: one shared environment, as in Factorio.

local item_types = { "item", "tool", "ammo", "capsule", "module", "armor", "gun",
  "item-with-entity-data", "rail-planner", "repair-tool", "selection-tool", "blueprint" }
local entity_types = { "container", "logistic-container", "storage-tank", "constant-combinator",
  "arithmetic-combinator", "decider-combinator", "assembling-machine", "inserter",
  "transport-belt", "pipe" }
local setting_types = { "bool-setting", "int-setting", "double-setting", "string-setting" }

function SIM.load_mods(list)
  local raw = {}
  local data = { raw = raw, is_demo = false }
  function data.extend(self, protos)
    if protos == nil then protos = self end
    for _, p in ipairs(protos) do
      if type(p.type) ~= "string" or type(p.name) ~= "string" then
        error("prototype without a type or name", 2)
      end
      raw[p.type] = raw[p.type] or {}
      raw[p.type][p.name] = p
    end
  end
  local env = base_env("data")
  env.data = data
  env.mods = {}
  env.defines = defines
  env.table = setmetatable({ deepcopy = deepcopy }, { __index = table })
  env.util = { table = { deepcopy = deepcopy }, copy = deepcopy }
  env.settings = { startup = {} }
  local current
  for _, m in ipairs(list) do
    mods[#mods + 1] = m
    mod_by_name[m.name] = m
    env.mods[m.name] = m.version
  end
  install_require(env, function(n) return mod_by_name[n] and mod_by_name[n].files end, "base")
  local function stage(file)
    for _, m in ipairs(mods) do
      local src = m.files[file]
      if src then
        current = m.name
        env.require = nil
        install_require(env, function(n) return mod_by_name[n] and mod_by_name[n].files end, current)
        local chunk, err = load(src, "@__" .. m.name .. "__/" .. file, "t", env)
        if not chunk then error(err, 0) end
        chunk()
      end
    end
  end
  for _, f in ipairs({ "settings.lua", "settings-updates.lua", "settings-final-fixes.lua" }) do stage(f) end
  for _, t in ipairs(setting_types) do
    for name, p in pairs(raw[t] or {}) do
      setting_protos[name] = p
      setting_values[name] = p.default_value
      if p.setting_type == "startup" then env.settings.startup[name] = { value = p.default_value } end
    end
  end
  for _, f in ipairs({ "data.lua", "data-updates.lua", "data-final-fixes.lua" }) do stage(f) end
  for _, t in ipairs(item_types) do
    for name, p in pairs(raw[t] or {}) do
      W.protos.item[name] = { name = name, type = t, stack_size = p.stack_size or 100 }
    end
  end
  for name, p in pairs(raw.fluid or {}) do
    W.protos.fluid[name] = { name = name, type = "fluid", default_temperature = p.default_temperature }
  end
  for name in pairs(raw["virtual-signal"] or {}) do
    W.protos.virtual_signal[name] = { name = name, type = "virtual-signal" }
  end
  for name, p in pairs(raw.recipe or {}) do W.protos.recipe[name] = { name = name } end
  for _, t in ipairs(entity_types) do
    for name, p in pairs(raw[t] or {}) do
      W.protos.entity[name] = { name = name, type = t, inventory_size = p.inventory_size,
        logistic_mode = p.logistic_mode, fluid_box = p.fluid_box }
    end
  end
end

---------------------------------------------------------------------------------------------------
-- Control stage.

local function make_script(env, mod_name)
  local s = { mod_name = mod_name, active_mods = {} }
  for _, m in ipairs(mods) do s.active_mods[m.name] = m.version end
  function s.on_init(f) env.__on_init = f end
  function s.on_load(f) env.__on_load = f end
  function s.on_configuration_changed(f) env.__on_config = f end
  function s.on_event(ev, f, filters)
    if filters ~= nil then W.unemulated("event filters in script.on_event") end
    if type(ev) == "table" then
      for _, e in ipairs(ev) do set_handler(handlers, e, env, f) end
    else
      set_handler(handlers, ev, env, f)
    end
  end
  function s.on_nth_tick(n, f)
    if n == nil then
      for k in pairs(nth_tick) do set_handler(nth_tick, k, env, nil) end
      return
    end
    if type(n) == "table" then
      for _, k in ipairs(n) do set_handler(nth_tick, k, env, f) end
    else
      set_handler(nth_tick, n, env, f)
    end
  end
  function s.generate_event_name()
    next_event_id = next_event_id + 1
    return next_event_id
  end
  function s.raise_event(id, data) events.raise(id, deep_copy(data)) end
  function s.get_event_handler(id)
    for _, h in ipairs(handlers[id] or {}) do if h.env == env then return h.f end end
    return nil
  end
  return setmetatable(s, { __index = function(_, k) W.unemulated("LuaBootstrap." .. tostring(k)) end })
end

local function control_env(name, files, is_level)
  local env = base_env(is_level and "level" or name)
  for _, n in ipairs({ "game", "helpers", "rcon", "remote", "settings", "prototypes", "defines" }) do
    env[n] = _G[n]
  end
  env.rendering = unemulated_global("rendering")
  env.commands = unemulated_global("commands")
  env.script = make_script(env, is_level and "level" or name)
  env.storage = {}
  env.__is_level = is_level
  install_require(env, function(n)
    if n == name then return files end
    return mod_by_name[n] and mod_by_name[n].files
  end, name)
  if is_level then
    env.sim = { set_circuit_input = E.set_circuit_input, join_player = E.join_player,
                leave_player = E.leave_player }
  end
  envs[name] = env
  env_order[#env_order + 1] = name
  return env
end

local function run_controls()
  envs, env_order, handlers, nth_tick, interfaces = {}, {}, {}, {}, {}
  next_event_id = #event_names
  for _, m in ipairs(mods) do
    if m.files["control.lua"] then
      local env = control_env(m.name, m.files, false)
      local chunk, err = load(m.files["control.lua"], "@__" .. m.name .. "__/control.lua", "t", env)
      if not chunk then error(err, 0) end
      chunk()
    end
  end
  local env = control_env("level", { ["control.lua"] = world.scenario_source }, true)
  local chunk, err = load(world.scenario_source, "@__level__/control.lua", "t", env)
  if not chunk then error(err, 0) end
  chunk()
end

local function call_hook(env, key, arg)
  if env[key] then timed(env, env[key], arg) end
end

function SIM.new_game(scenario_name, scenario_source)
  world = { tick = 0, achievements = true, scenario_name = scenario_name,
            scenario_source = scenario_source }
  E.reset()
  run_controls()
  for _, n in ipairs(env_order) do call_hook(envs[n], "__on_init") end
end

---------------------------------------------------------------------------------------------------
-- Saves: level.json (world and mod versions), storage-<env>.json per environment with tagged
-- values so that key types and LuaObject references survive, control.lua (the scenario).

local function encode(v, depth)
  if depth > 200 then error("storage nesting deeper than 200 (a cycle?)", 0) end
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return v end
  if t ~= "table" then error("cannot save a " .. t .. " in storage", 0) end
  local st = W.STATE[v]
  if st then
    local mt = getmetatable(v)
    if mt == "LuaEntity" then return { r = "entity", id = st.unit } end
    if mt == "LuaSurface" then return { r = "surface", id = st.index } end
    if mt == "LuaForce" then return { r = "force", id = st.name } end
    error("factorio-sim cannot save a " .. tostring(mt) .. " in storage", 0)
  end
  local pairs_out = {}
  for k, x in pairs(v) do pairs_out[#pairs_out + 1] = { encode(k, depth + 1), encode(x, depth + 1) } end
  return { t = pairs_out }
end

local function decode(v)
  if type(v) ~= "table" then return v end
  if v.r == "entity" then
    local st = E.by_unit[v.id]
    if st then return st.proxy end
    return W.new_inventory({ valid = false }) -- an invalid object, as a destroyed entity would be
  end
  if v.r == "surface" then return E.surfaces[v.id].proxy end
  if v.r == "force" then return E.forces[v.id].proxy end
  local out = {}
  for _, kv in ipairs(v.t) do out[decode(kv[1])] = decode(kv[2]) end
  return out
end

function SIM.save_game()
  local versions = {}
  for _, m in ipairs(mods) do versions[m.name] = m.version end
  local level = { tick = world.tick, achievements = world.achievements,
                  scenario_name = world.scenario_name, mods = versions, world = E.dump(),
                  settings = setting_values, version = 1 }
  local out = { ["level.json"] = native.table_to_json(level),
                ["control.lua"] = world.scenario_source }
  for _, n in ipairs(env_order) do
    out["storage-" .. n .. ".json"] = native.table_to_json(encode(envs[n].storage, 0))
  end
  return out
end

function SIM.load_game(files)
  local level = native.json_to_table(files["level.json"] or "")
  if type(level) ~= "table" or level.version ~= 1 then error("not a factorio-sim save", 0) end
  world = { tick = level.tick, achievements = level.achievements,
            scenario_name = level.scenario_name, scenario_source = files["control.lua"] or "" }
  for k, v in pairs(level.settings or {}) do if setting_protos[k] then setting_values[k] = v end end
  E.restore(level.world)
  run_controls()
  for _, n in ipairs(env_order) do
    local env = envs[n]
    local saved = files["storage-" .. n .. ".json"]
    local old_version = (level.mods or {})[n]
    local cur = mod_by_name[n] and mod_by_name[n].version
    if saved then env.storage = decode(native.json_to_table(saved)) end
    if n ~= "level" and not saved then
      call_hook(env, "__on_init")
    else
      call_hook(env, "__on_load")
      if n ~= "level" and old_version ~= cur then
        call_hook(env, "__on_config", { mod_changes = { [n] = { old_version = old_version,
          new_version = cur } } })
      end
    end
  end
  -- Decoding the save left garbage that a real server never has in a mod's Lua state: collect
  -- it now rather than in the first ticks' mod handlers, which would be charged for it.
  collectgarbage()
end

---------------------------------------------------------------------------------------------------
-- Ticks and console commands.

function SIM.tick()
  mod_time = 0
  local tick = world.tick
  events.raise(defines.events.on_tick, {})
  for n, list in pairs(nth_tick) do
    if tick % n == 0 then
      for _, h in ipairs(list) do timed(h.env, h.f, { nth_tick = n, tick = tick }) end
    end
  end
  world.tick = tick + 1
  return mod_time * 1000
end

--- Runs a console command body; "__mod__ code" selects a mod's environment.
function SIM.run_command(body)
  local mod, code = body:match("^__([%w%-_]+)__%s+(.*)$")
  local env = envs[mod or "level"]
  if not env then return "Cannot execute command. Error: unknown mod " .. tostring(mod) .. "\n" end
  code = code or body
  local chunk, err = load(code, "=(command)", "t", env)
  if not chunk then return "Cannot execute command. Error: " .. err .. "\n" end
  rcon_buffer = {}
  local ok, perr = pcall(chunk)
  local out = table.concat(rcon_buffer)
  rcon_buffer = nil
  if not ok then return "Cannot execute command. Error: " .. tostring(perr) .. "\n" end
  return out
end

function SIM.player_count() return E.connected_count() end
function SIM.game_tick() return world.tick end
function SIM.achievements_enabled() return world.achievements end
function SIM.disable_achievements() world.achievements = false end

return SIM

-- factorio-sim runtime: the settings, data and control stages of the emulated Factorio 2.0 API,
-- the mods' life cycle, saves, ticks and console commands. Called from C++ (sim/lua_host.cpp)
-- through the table this chunk returns.
--
-- Each mod and the scenario ("level") get their own environment, like Factorio's separate Lua
-- states: own `storage`, `script` registrations and `require` cache, sharing the world.

local native, dir = ...
local function module(name, ...) return assert(loadfile(dir .. "/" .. name .. ".lua"))(...) end

local SIM = {}
local world = { tick = 0, achievements = true, scenario_name = "", scenario_source = "",
                game_version = native.version }

local event_count
defines, event_count = module("defines")

---------------------------------------------------------------------------------------------------
-- Events: handlers[id] = { {env=, f=}, ... } in load order; nth_tick[n] likewise.

local envs, env_order = {}, {}       -- name -> env; names in load order (mods, then level)
local mod_time = 0                   -- CPU seconds spent in mod (not level) handlers this tick
local cpu_clock = native.cpu_clock

local function timed(env, f, arg)
  if env.__is_level then return f(arg) end
  local t0 = cpu_clock()
  f(arg)
  mod_time = mod_time + (cpu_clock() - t0)
end

local events = { handlers = {}, nth_tick = {}, next_id = event_count }
function events.raise(id, data)
  local list = events.handlers[id]
  if not list then return end
  data.name, data.tick = id, world.tick
  for _, h in ipairs(list) do timed(h.env, h.f, data) end
end
function events.set_handler(tbl, key, env, f)
  local list = tbl[key] or {}
  for i, h in ipairs(list) do
    if h.env == env then table.remove(list, i); break end
  end
  if f then list[#list + 1] = { env = env, f = f } end
  tbl[key] = list
end
function events.new_id()
  events.next_id = events.next_id + 1
  return events.next_id
end

local W = module("class")
local P = module("prototypes", W)
local I = module("items", W, P)
local F = module("fluids", W, P)
local S = module("sections", W, P)
local E = module("entities", W, P, I, F, S, events)
local G = module("gui", W, P)
local PL = module("players", W, P, I, E, G, events)
local Gl = module("globals", W, E, PL, events, native, world)

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
-- Settings and data stages.

local D = module("data_stage", base_env, install_require, P)
local setting_types = { "bool-setting", "int-setting", "double-setting", "string-setting" }
local entity_types = { "container", "logistic-container", "storage-tank", "constant-combinator" }

local function read_settings(raw)
  local startup = {}
  for _, t in ipairs(setting_types) do
    for name, p in pairs(raw[t] or {}) do
      Gl.setting_protos[name] = p
      Gl.setting_values[name] = p.default_value
      if p.setting_type == "startup" then startup[name] = { value = p.default_value } end
    end
  end
  return startup
end

function SIM.load_mods(list)
  for _, m in ipairs(list) do
    mods[#mods + 1] = m
    mod_by_name[m.name] = m
  end
  local raw = D.run(mods, mod_by_name, deepcopy, read_settings)
  P.build(raw)
  for _, t in ipairs(entity_types) do
    for name, p in pairs(raw[t] or {}) do P.add_entity(name, p) end
  end
end

---------------------------------------------------------------------------------------------------
-- Control stage. `game` is nil in control.lua's main chunk and in on_load, as in the game.

local function active_mods()
  local out = {}
  for _, m in ipairs(mods) do out[m.name] = m.version end
  return out
end

local function control_env(name, files, is_level)
  local env = base_env(is_level and "level" or name)
  for _, n in ipairs({ "helpers", "rcon", "remote", "settings" }) do env[n] = Gl[n] end
  env.prototypes = P.prototypes
  env.defines = defines
  env.rendering = unemulated_global("rendering")
  env.commands = unemulated_global("commands")
  env.script = Gl.new_script(env, is_level and "level" or name, active_mods())
  env.storage = {}
  env.__is_level = is_level
  install_require(env, function(n)
    if n == name then return files end
    return mod_by_name[n] and mod_by_name[n].files
  end, name)
  if is_level then
    env.sim = { set_circuit_input = E.set_circuit_input, join_player = PL.join, leave_player = PL.leave,
      connect_fluid = function(a, b) F.connect(W.STATE[a].box, W.STATE[b].box) end,
      open_gui = PL.open, close_gui = PL.close, choose = PL.choose, paste_settings = PL.paste_settings,
      blueprint = PL.blueprint, build_blueprint = PL.build_blueprint, build = PL.build, mine = PL.mine,
      undo = PL.undo, redo = PL.redo }
  end
  envs[name] = env
  env_order[#env_order + 1] = name
  return env
end

local function run_chunk(env, src, chunkname)
  local chunk, err = load(src, chunkname, "t", env)
  if not chunk then error(err, 0) end
  chunk()
end

local function run_controls()
  envs, env_order, Gl.interfaces = {}, {}, {}
  events.handlers, events.nth_tick, events.next_id = {}, {}, event_count
  for _, m in ipairs(mods) do
    if m.files["control.lua"] then
      run_chunk(control_env(m.name, m.files, false), m.files["control.lua"], "@__" .. m.name .. "__/control.lua")
    end
  end
  local env = control_env("level", { ["control.lua"] = world.scenario_source }, true)
  run_chunk(env, world.scenario_source, "@__level__/control.lua")
end

local function call_hook(env, key, arg)
  env.game = Gl.game
  if env[key] then timed(env, env[key], arg) end
end

--- A copy of `storage` to hold it against after on_load (LuaObjects by identity).
local function snapshot(v, memo)
  if type(v) ~= "table" or W.STATE[v] then return v end
  if memo[v] then return memo[v] end
  local out = {}
  memo[v] = out
  for k, x in pairs(v) do out[snapshot(k, memo)] = snapshot(x, memo) end
  return out
end

local function same(a, b, seen)
  if type(a) ~= "table" or type(b) ~= "table" or W.STATE[a] or W.STATE[b] then return rawequal(a, b) end
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do if not same(v, b[k], seen) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

--- on_load, with `game` absent and `storage` read only (checked afterwards, as the game does).
local function run_on_load(name, env)
  if not env.__on_load then return end
  local before, held = env.storage, snapshot(env.storage, {})
  timed(env, env.__on_load)
  if env.storage ~= before or not same(held, env.storage, {}) then
    error("Error while running event " .. name .. "::on_load()\nDetected modifications to the 'storage' table by mod "
          .. name .. " during on_load.", 0)
  end
end

function SIM.new_game(scenario_name, scenario_source, map_gen_settings)
  world.tick, world.achievements = 0, true
  world.scenario_name, world.scenario_source = scenario_name, scenario_source
  E.reset()
  E.surfaces[1].map_gen_settings = native.json_to_table(map_gen_settings)
  PL.players = {}
  run_controls()
  for _, n in ipairs(env_order) do call_hook(envs[n], "__on_init") end
end

---------------------------------------------------------------------------------------------------
-- Saves: level.json (world, game and mod versions), storage-<env>.json per environment with
-- tagged values so that key types and LuaObject references survive, control.lua (the scenario).

local function encode(v, depth)
  if depth > 200 then error("storage nesting deeper than 200 (a cycle?)", 0) end
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return v end
  if t ~= "table" then error("cannot save a " .. t .. " in storage", 0) end
  local cls = W.class_of(v)
  if cls then
    local st = W.STATE[v]
    if cls == "LuaEntity" then return { r = "entity", id = st.unit } end
    if cls == "LuaSurface" then return { r = "surface", id = st.index } end
    if cls == "LuaForce" then return { r = "force", id = st.name } end
    error("factorio-sim cannot save a " .. cls .. " in storage", 0)
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
    return I.new_inventory({ valid = false }) -- an invalid object, as a destroyed entity would be
  end
  if v.r == "surface" then return E.surfaces[v.id].proxy end
  if v.r == "force" then return E.forces[v.id].proxy end
  local out = {}
  for _, kv in ipairs(v.t) do out[decode(kv[1])] = decode(kv[2]) end
  return out
end

function SIM.save_game()
  local world_data = E.dump()
  world_data.players = PL.dump()
  local level = { tick = world.tick, achievements = world.achievements, game_version = world.game_version,
                  scenario_name = world.scenario_name, mods = active_mods(), world = world_data,
                  settings = Gl.setting_values, version = 1 }
  local out = { ["level.json"] = native.table_to_json(level), ["control.lua"] = world.scenario_source }
  for _, n in ipairs(env_order) do
    out["storage-" .. n .. ".json"] = native.table_to_json(encode(envs[n].storage, 0))
  end
  return out
end

--- ConfigurationChangedData when the game version or any mod (version, added, removed)
--- differs from the save's, else nil.
local function configuration_changes(level)
  local old, changes, changed = level.mods or {}, {}, level.game_version ~= world.game_version
  for _, m in ipairs(mods) do
    if old[m.name] ~= m.version then
      changes[m.name] = { old_version = old[m.name], new_version = m.version }
      changed = true
    end
  end
  for name, v in pairs(old) do
    if not mod_by_name[name] then changes[name] = { old_version = v }; changed = true end
  end
  if not changed then return nil end
  return { mod_changes = changes, old_version = level.game_version, new_version = world.game_version,
           mod_startup_settings_changed = false, migration_applied = false }
end

function SIM.load_game(files)
  local level = native.json_to_table(files["level.json"] or "")
  if type(level) ~= "table" or level.version ~= 1 then error("not a factorio-sim save", 0) end
  world.tick, world.achievements = level.tick, level.achievements
  world.scenario_name, world.scenario_source = level.scenario_name, files["control.lua"] or ""
  for k, v in pairs(level.settings or {}) do if Gl.setting_protos[k] then Gl.setting_values[k] = v end end
  E.restore(level.world)
  PL.restore(level.world.players)
  run_controls()
  -- Mods new to the save run on_init before the others run on_load, as in the game.
  local existing = {}
  for _, n in ipairs(env_order) do
    local saved = files["storage-" .. n .. ".json"]
    if saved then
      envs[n].storage = decode(native.json_to_table(saved))
      existing[#existing + 1] = n
    elseif n ~= "level" then
      call_hook(envs[n], "__on_init")
    end
  end
  for _, n in ipairs(existing) do
    run_on_load(n, envs[n])
    envs[n].game = Gl.game
  end
  envs.level.game = Gl.game
  local changes = configuration_changes(level)
  if changes then
    for _, n in ipairs(env_order) do call_hook(envs[n], "__on_config", Gl.deep_copy(changes)) end
  end
  -- Decoding the save left garbage that a real server never has in a mod's Lua state: collect
  -- it now rather than in the first ticks' mod handlers, which would be charged for it.
  collectgarbage()
end

---------------------------------------------------------------------------------------------------
-- Ticks, console commands, and the emulated API's description.

function SIM.tick()
  mod_time = 0
  local tick = world.tick
  events.raise(defines.events.on_tick, {})
  for n, list in pairs(events.nth_tick) do
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
  world.rcon_buffer = {}
  local ok, perr = pcall(chunk)
  local out = table.concat(world.rcon_buffer)
  world.rcon_buffer = nil
  if not ok then return "Cannot execute command. Error: " .. tostring(perr) .. "\n" end
  return out
end

local function define_paths(t, prefix, out)
  for k, v in pairs(t) do
    out[#out + 1] = prefix .. "." .. k
    if type(v) == "table" then define_paths(v, prefix .. "." .. k, out) end
  end
  return out
end

--- JSON: the classes the sim emulates (members, kinds, parameter names), its global objects,
--- defines, the prototype fields it requires, and the game version it reports.
function SIM.dump_api()
  local globals = { game = Gl.game, helpers = Gl.helpers, rcon = Gl.rcon, remote = Gl.remote,
                    settings = Gl.settings, prototypes = P.prototypes, script = Gl.new_script({}, "", {}) }
  for k, v in pairs(globals) do globals[k] = getmetatable(v) end
  return native.table_to_json({ version = world.game_version, classes = W.registry, globals = globals,
                                defines = define_paths(defines, "defines", {}), required = D.REQUIRED })
end

function SIM.player_count() return PL.connected_count() end
function SIM.game_tick() return world.tick end
function SIM.achievements_enabled() return world.achievements end
function SIM.disable_achievements() world.achievements = false end

return SIM

-- factorio-sim: the control stage's global objects: game (LuaGameScript), helpers, rcon, remote,
-- settings (LuaSettings) and, per mod, script (LuaBootstrap).

local W, E, PL, events, native, world = ...

local Gl = {}

---------------------------------------------------------------------------------------------------
-- remote: arguments and results are copied (no functions, no metatables; LuaObjects survive).

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
Gl.deep_copy = deep_copy

Gl.interfaces = {}

Gl.remote = W.class("LuaRemote", {
  interfaces = function()
    local out = {}
    for name, funcs in pairs(Gl.interfaces) do
      out[name] = {}
      for n in pairs(funcs) do out[name][n] = true end
    end
    return out
  end,
}, {}, {
  add_interface = function(_, _, name, functions)
    if Gl.interfaces[name] then error("Remote interface with name " .. name .. " already exists.", 2) end
    Gl.interfaces[name] = functions
  end,
  remove_interface = function(_, _, name)
    local had = Gl.interfaces[name] ~= nil
    Gl.interfaces[name] = nil
    return had
  end,
  call = function(_, _, interface, _function, ...)
    local i = Gl.interfaces[interface]
    if not i then error("Unknown interface: " .. tostring(interface), 2) end
    local f = i[_function]
    if type(f) ~= "function" then
      error("No such function: " .. tostring(_function) .. " in interface " .. tostring(interface), 2)
    end
    local args = deep_copy({ ... })
    return deep_copy(f(table.unpack(args, 1, select("#", ...))))
  end,
}, { no_valid = true })({})

---------------------------------------------------------------------------------------------------
-- game, helpers, rcon.

local function by_index_and_name(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x.proxy; out[x.name] = x.proxy end
  return out
end

Gl.game = W.class("LuaGameScript", {
  tick = function() return world.tick end,
  ticks_played = function() return world.tick end,
  tick_paused = function() return false end,
  speed = function() return 1 end,
  connected_players = function()
    local out = {}
    for _, p in ipairs(PL.players) do if p.connected then out[#out + 1] = p.proxy end end
    return out
  end,
  players = function() return by_index_and_name(PL.players) end,
  surfaces = function() return by_index_and_name(E.surfaces) end,
  forces = function()
    local out = {}
    for n, f in pairs(E.forces) do out[n] = f.proxy; out[f.index] = f.proxy end
    return out
  end,
}, {}, {
  get_surface = function(_, _, surface)
    for _, s in ipairs(E.surfaces) do if s.index == surface or s.name == surface then return s.proxy end end
    return nil
  end,
  get_player = function(_, _, player)
    for _, p in ipairs(PL.players) do if p.index == player or p.name == player then return p.proxy end end
    return nil
  end,
  get_entity_by_unit_number = function(_, _, unit_number)
    local st = E.by_unit[unit_number]
    return st and st.proxy or nil
  end,
  print = function(_, _, message, print_settings) native.log_line("[CHAT] " .. tostring(message)) end,
}, { no_valid = true })({})

Gl.helpers = W.class("LuaHelpers", {
  game_version = function() return world.game_version end,
}, {}, {
  table_to_json = function(_, _, data) return native.table_to_json(data) end,
  json_to_table = function(_, _, json) return native.json_to_table(json) end,
  write_file = function(_, _, filename, data, append, for_player)
    if for_player ~= nil and for_player ~= 0 then return end -- only the server writes with 0
    native.write_file(filename, tostring(data), append)
  end,
}, { no_valid = true })({})

Gl.rcon = W.class("LuaRCON", {}, {}, {
  print = function(_, _, message)
    if world.rcon_buffer then world.rcon_buffer[#world.rcon_buffer + 1] = tostring(message) .. "\n" end
  end,
}, { no_valid = true })({})

---------------------------------------------------------------------------------------------------
-- settings: startup (read only) and runtime-global (writable with {value=}).

Gl.setting_protos, Gl.setting_values = {}, {}

local function setting_table(kind)
  return setmetatable({}, {
    __index = function(_, name)
      local p = Gl.setting_protos[name]
      if not p or p.setting_type ~= kind then return nil end
      return { value = Gl.setting_values[name] }
    end,
    __newindex = function(_, name, v)
      if kind ~= "runtime-global" then error("startup settings are read-only", 2) end
      local p = Gl.setting_protos[name]
      if not p then error("Unknown setting: " .. tostring(name), 2) end
      if type(v) ~= "table" or v.value == nil then error("expected {value=...}", 2) end
      Gl.setting_values[name] = v.value
      events.raise(defines.events.on_runtime_mod_setting_changed,
                   { setting = name, setting_type = "runtime-global" })
    end,
  })
end

Gl.settings = W.class("LuaSettings", {
  startup = function() return setting_table("startup") end,
  global = function() return setting_table("runtime-global") end,
}, {}, {}, { no_valid = true })({})

---------------------------------------------------------------------------------------------------
-- script: one LuaBootstrap per environment.

local new_script = W.class("LuaBootstrap", {
  mod_name = function(st) return st.mod_name end,
  active_mods = function(st) return deep_copy(st.active_mods) end,
}, {}, {
  on_init = function(st, _, handler) st.env.__on_init = handler end,
  on_load = function(st, _, handler) st.env.__on_load = handler end,
  on_configuration_changed = function(st, _, handler) st.env.__on_config = handler end,
  on_event = function(st, _, event, handler, filters)
    if filters ~= nil then W.unemulated("event filters in script.on_event") end
    for _, e in ipairs(type(event) == "table" and event or { event }) do
      if type(e) ~= "number" then error("Invalid event id: " .. tostring(e), 3) end
      events.set_handler(events.handlers, e, st.env, handler)
    end
  end,
  on_nth_tick = function(st, _, tick, handler)
    if tick == nil then
      for k in pairs(events.nth_tick) do events.set_handler(events.nth_tick, k, st.env, nil) end
      return
    end
    for _, k in ipairs(type(tick) == "table" and tick or { tick }) do
      events.set_handler(events.nth_tick, k, st.env, handler)
    end
  end,
  generate_event_name = function() return events.new_id() end,
  raise_event = function(_, _, event, data) events.raise(event, deep_copy(data)) end,
  get_event_handler = function(st, _, event)
    for _, h in ipairs(events.handlers[event] or {}) do if h.env == st.env then return h.f end end
    return nil
  end,
}, { no_valid = true })

function Gl.new_script(env, mod_name, active_mods)
  return new_script({ env = env, mod_name = mod_name, active_mods = active_mods })
end

return Gl

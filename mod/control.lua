--[[ clusterio mod, control stage (Factorio 2.0 API).

The contract with the slave and with other mods (the remote interfaces "clusterio", over RCON,
and "clusterio_entities", the IPC lines this mod prints, the entities and map settings) is
docs/mod-interface.md, in one place.
]]

local core = require("lua.core")
local putters = require("lua.putters")
local getters = require("lua.getters")
local signals = require("lua.signals")
local get_tank = require("lua.get_tank")
local interface = require("lua.interface")

--- Ticks in one work cycle: each entity is visited once per cycle.
local CYCLE = 60
--- Transmitters are visited more often so signal latency stays low.
local TX_CYCLE = 10
local STATUS_EVERY = 60

local function slice(list, tick, cycle)
  local n = #list
  local phase = tick % cycle
  return math.floor(n * phase / cycle) + 1, math.floor(n * (phase + 1) / cycle)
end

--- Forgets everything kept about an entity that is gone.
local function forget(unit)
  local s = storage
  if s.rx_channel[unit] then s.rx_changed = true end
  s.known[unit], s.wants[unit], s.rx_channel[unit] = nil, nil, nil
  s.held_back_of[unit], s.not_shown[unit], s.tank_fluid[unit] = nil, nil, nil
  local t = s.tx[unit]
  if t then s.tx_dirty[t.channel] = true end -- signals.flush drops its frame
end

--- Visits this tick's slice of `list`; `f` returns false for an invalid entity, which is
--- swap-removed.
local function sweep(list, tick, cycle, f)
  local i, to = slice(list, tick, cycle)
  while i <= to and i <= #list do
    local r = list[i]
    if r.e.valid and f(r.e) ~= false then
      i = i + 1
    else
      forget(r.unit)
      list[i] = list[#list]
      list[#list] = nil
      to = to - 1
    end
  end
end

local function on_tick(event)
  core.ensure_storage()
  local tick = event.tick
  local lists = storage.lists
  local paused = core.paused()
  if not paused then
    sweep(lists.put_chests, tick, CYCLE, putters.empty_put_chest)
    sweep(lists.put_tanks, tick, CYCLE, putters.empty_put_tank)
  end
  sweep(lists.get_chests, tick, CYCLE, getters.visit)
  sweep(lists.get_tanks, tick, CYCLE, getters.visit)
  sweep(lists.transmitters, tick, TX_CYCLE, signals.visit_transmitter)
  sweep(lists.receivers, tick, CYCLE, signals.visit_receiver)
  signals.flush()
  signals.announce_receivers()
  if tick % CYCLE == CYCLE - 1 then
    core.close_batch()
    if not paused then core.send_requests() end
    core.clear_requests()
  end
  if tick % STATUS_EVERY == 0 then
    core.send_ipc("status", { tick = tick, players = #game.connected_players })
  end
end

core.on_register = function(e, list)
  if list == "receivers" then signals.visit_receiver(e) end
  if list == "inventory_combinators" then signals.write_inventory(e) end
end

local function on_built(event)
  local e = event.entity or event.destination
  core.register(e)
  if event.name == defines.events.on_entity_cloned then
    get_tank.on_cloned(event.source, e)
  elseif e and e.valid and e.name == "get-tank" then
    get_tank.on_built(e, event.tags)
  end
end

local function on_removed(event)
  local e = event.entity
  if e and e.valid and e.name == "get-tank" then get_tank.on_removed(e) end
end

local function on_init_or_changed()
  core.init_storage()
  core.scan_world()
  get_tank.adopt_filters()
end

script.on_init(on_init_or_changed)
script.on_configuration_changed(on_init_or_changed)

script.on_event(defines.events.on_tick, on_tick)
script.on_event({
  defines.events.on_built_entity, defines.events.on_robot_built_entity,
  defines.events.on_space_platform_built_entity, defines.events.script_raised_built,
  defines.events.script_raised_revive, defines.events.on_entity_cloned,
}, on_built)
script.on_event({
  defines.events.on_player_mined_entity, defines.events.on_robot_mined_entity,
  defines.events.on_space_platform_mined_entity, defines.events.on_entity_died,
  defines.events.script_raised_destroy,
}, on_removed)
script.on_event(defines.events.on_entity_settings_pasted, get_tank.on_settings_pasted)
script.on_event(defines.events.on_player_setup_blueprint, get_tank.on_setup_blueprint)
script.on_event(defines.events.on_gui_opened, get_tank.on_gui_opened)
script.on_event(defines.events.on_gui_closed, get_tank.on_gui_closed)
script.on_event(defines.events.on_gui_elem_changed, get_tank.on_gui_elem_changed)
script.on_event(defines.events.on_runtime_mod_setting_changed, core.reset_filter)

-- Registered at load time (not in on_init) so the interfaces exist on every load.
remote.add_interface("clusterio", interface)
remote.add_interface("clusterio_entities", get_tank.interface)

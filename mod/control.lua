--[[ clusterio mod, control stage (Factorio 2.0 API).

THE CONTRACT WITH THE SLAVE (also in docs/mod-interface.md; keep both in step)

Slave -> mod: remote interface "clusterio" over RCON, e.g.
  /sc remote.call("clusterio","apply_grants","<JSON escaped as a Lua string literal>")
Every function takes ONE argument, a JSON string, and answers with exactly one
rcon.print(<JSON>). A call whose argument is not valid JSON of the right shape answers
{"error":"<reason>"}. Every call counts as a ping. Empty lists may encode as [] and empty
objects as [] too (Factorio's table_to_json cannot tell them apart): accept both.
  set_batch_floor {"next_batch":N}       -> {"ok":true,"next_batch":M}   (never lowers)
  pending_exports {}                     -> {"batches":[{"batch":n,"items":[[name,count],...]}],"floor":f}
  ack_exports     {"batches":[n,...]}    -> {"dropped":[n,...]}
  apply_grants    {"grants":[{"grant_id":g,"name":s,"count":c},...]}
                                         -> {"results":[{"grant_id":g,"status":s[,"reason":r]}],"applied":A}
      status: applied | duplicate | cancelled | rejected (with reason); A: grants ever applied
  cancel_grants   {"grant_ids":[g,...]}  -> {"results":[{"grant_id":g,"status":"cancelled"|"applied"}]}
  forget_grants   {"grant_ids":[g,...]}  -> {"forgotten":n}
  set_inventory   {"time_ms":t,"full":b,"levels":[[name,count],...]} -> {"ok":true}
  ping            {}                     -> {"ok":true,"tick":T}
  receive_signals {"channel":c,"source":s,"signals":[[name,value],...]} -> {"ok":true}
  status          {}                     -> {"tick":T,"players":P,"paused":b,"pending_exports":n,"buffered":{name:count}}

Mod -> slave: stdout lines "\f$ipc:<channel>?j<json>"; when the JSON exceeds 4000 bytes it is
written to script-output/<file> and the line is "\f$ipc:<channel>?f<file>" (the slave reads the
whole file, then deletes it; files are never appended to). Channels:
  export  {"batch":n,"floor":f,"items":[[name,count],...]}  one per closed batch, at most once a cycle
  request {"items":[[name,missing],...],"applied":A}        once a cycle when something is missing
  signal  {"channel":c,"signals":[[name,value],...]}         this world's transmitter sum, on change
  status  {"tick":T,"players":P}                             about once a second

Item names are data: nothing here builds Lua source from them.
]]

local core = require("lua.core")
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

--- Visits list[from..to]; `f` returns false for an invalid entity, which is swap-removed.
local function sweep(list, from, to, f)
  local i = from
  while i <= to and i <= #list do
    local r = list[i]
    if r.e.valid and f(r.e) ~= false then
      i = i + 1
    else
      storage.known[r.unit] = nil
      storage.wants[r.unit] = nil
      storage.rx_channel[r.unit] = nil
      local t = storage.tx[r.unit]
      if t then storage.tx_dirty[t.channel] = true end -- flush_signals drops its frame
      list[i] = list[#list]
      list[#list] = nil
      to = to - 1
    end
  end
end

local function on_tick(event)
  core.ensure_storage()
  local tick = event.tick
  local s = storage
  local paused = core.paused()
  if not paused then
    local a, b = slice(s.lists.put_chests, tick, CYCLE)
    sweep(s.lists.put_chests, a, b, core.empty_put_chest)
    a, b = slice(s.lists.put_tanks, tick, CYCLE)
    sweep(s.lists.put_tanks, a, b, core.empty_put_tank)
  end
  local a, b = slice(s.lists.get_chests, tick, CYCLE)
  sweep(s.lists.get_chests, a, b, core.visit_getter)
  a, b = slice(s.lists.get_tanks, tick, CYCLE)
  sweep(s.lists.get_tanks, a, b, core.visit_getter)
  a, b = slice(s.lists.transmitters, tick, TX_CYCLE)
  sweep(s.lists.transmitters, a, b, core.visit_transmitter)
  a, b = slice(s.lists.receivers, tick, CYCLE)
  sweep(s.lists.receivers, a, b, core.visit_receiver)
  core.flush_signals()
  if tick % CYCLE == CYCLE - 1 then
    core.close_batch()
    if not paused then core.send_requests() end
    core.clear_requests()
  end
  if tick % STATUS_EVERY == 0 then
    core.send_ipc("status", { tick = tick, players = #game.connected_players })
  end
end

local function on_built(event)
  core.register(event.entity or event.destination)
end

script.on_init(function()
  core.init_storage()
  core.scan_world()
end)

script.on_configuration_changed(function()
  core.init_storage()
  core.scan_world()
end)

script.on_event(defines.events.on_tick, on_tick)
script.on_event({
  defines.events.on_built_entity, defines.events.on_robot_built_entity,
  defines.events.on_space_platform_built_entity, defines.events.script_raised_built,
  defines.events.script_raised_revive, defines.events.on_entity_cloned,
}, on_built)
script.on_event(defines.events.on_runtime_mod_setting_changed, core.reset_filter)

-- Registered at load time (not in on_init) so the interface exists on every load.
remote.add_interface("clusterio", interface)

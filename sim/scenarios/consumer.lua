-- Scenario "consumer": 4 get-chests requesting 200 iron-plate each and a get-tank set to water;
-- every second the chests lose 25 plates each and the tank 25 water, like a factory using them.
script.on_init(function()
  local surface = game.surfaces[1]
  storage.chests = {}
  for i = 1, 4 do
    local c = surface.create_entity({ name = "get-chest", position = { i * 2, 0 }, force = "player", raise_built = true })
    c.get_logistic_sections().get_section(1).set_slot(1, { value = "iron-plate", min = 200 })
    storage.chests[i] = c
  end
  storage.tank = surface.create_entity({ name = "get-tank", position = { 0, 6 }, force = "player", raise_built = true })
  -- The same path a player's choice in the tank's window takes.
  remote.call("clusterio_entities", "set_get_tank_fluid", storage.tank, "water")
end)

-- storage.consumed counts what this world ever used, per name, so tests can check conservation;
-- `storage.halt = true` (over RCON) stops consumption.
script.on_event(defines.events.on_tick, function(event)
  if event.tick % 60 ~= 0 or storage.halt then return end
  storage.consumed = storage.consumed or {}
  for _, c in ipairs(storage.chests) do
    if c.valid then
      local n = c.get_inventory(defines.inventory.chest).remove({ name = "iron-plate", count = 25 })
      storage.consumed["iron-plate"] = (storage.consumed["iron-plate"] or 0) + n
    end
  end
  local t = storage.tank
  if t.valid and t.fluidbox[1] then
    local f = t.fluidbox[1]
    local used = math.min(25, f.amount)
    t.fluidbox[1] = { name = f.name, amount = f.amount - used }
    storage.consumed[f.name] = (storage.consumed[f.name] or 0) + used
  end
end)

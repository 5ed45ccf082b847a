-- Scenario "consumer": 4 get-chests requesting 200 iron-plate each and a get-tank wanting water;
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
  storage.tank.fluidbox.set_filter(1, { name = "water" })
end)

script.on_event(defines.events.on_tick, function(event)
  if event.tick % 60 ~= 0 then return end
  for _, c in ipairs(storage.chests) do
    if c.valid then c.get_inventory(defines.inventory.chest).remove({ name = "iron-plate", count = 25 }) end
  end
  local t = storage.tank
  if t.valid and t.fluidbox[1] then
    local f = t.fluidbox[1]
    t.fluidbox[1] = { name = f.name, amount = math.max(0, f.amount - 25) }
  end
end)

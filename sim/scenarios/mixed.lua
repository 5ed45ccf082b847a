-- Scenario "mixed": producer, consumer and signals in one world, plus an inventory combinator
-- and a player who joins at the start.
script.on_init(function()
  local surface = game.surfaces[1]
  local function make(name, x, y)
    return surface.create_entity({ name = name, position = { x, y }, force = "player", raise_built = true })
  end
  storage.put = { make("put-chest", 0, 0), make("put-chest", 2, 0) }
  storage.put_tank = make("put-tank", 4, 0)
  storage.get = { make("get-chest", 0, 4), make("get-chest", 2, 4) }
  for _, c in ipairs(storage.get) do
    c.get_logistic_sections().get_section(1).set_slot(1, { value = "copper-plate", min = 100 })
  end
  storage.get_tank = make("get-tank", 4, 4)
  remote.call("clusterio_entities", "set_get_tank_fluid", storage.get_tank, "crude-oil")
  storage.tx = make("transmitter-combinator", 0, 8)
  storage.tx.combinator_description = "mixed"
  storage.rx = make("receiver-combinator", 2, 8)
  storage.rx.combinator_description = "mixed"
  make("inventory-combinator", 4, 8)
  sim.join_player("engineer")
end)

script.on_event(defines.events.on_tick, function(event)
  if event.tick % 60 ~= 0 then return end
  local s = math.floor(event.tick / 60)
  for _, c in ipairs(storage.put) do
    c.get_inventory(defines.inventory.chest).insert({ name = "iron-plate", count = 50 })
  end
  local f = storage.put_tank.fluidbox[1]
  storage.put_tank.fluidbox[1] = { name = "water", amount = (f and f.amount or 0) + 50 }
  for _, c in ipairs(storage.get) do
    c.get_inventory(defines.inventory.chest).remove({ name = "copper-plate", count = 10 })
  end
  sim.set_circuit_input(storage.tx, { { "signal-A", s } })
end)

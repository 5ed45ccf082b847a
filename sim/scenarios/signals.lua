-- Scenario "signals": a transmitter on channel "demo" whose input changes every second
-- (signal-A counts seconds, iron-plate alternates), and a receiver on the same channel.
script.on_init(function()
  local surface = game.surfaces[1]
  storage.tx = surface.create_entity({ name = "transmitter-combinator", position = { 0, 0 }, force = "player", raise_built = true })
  storage.tx.combinator_description = "demo"
  storage.rx = surface.create_entity({ name = "receiver-combinator", position = { 2, 0 }, force = "player", raise_built = true })
  storage.rx.combinator_description = "demo"
end)

script.on_event(defines.events.on_tick, function(event)
  if event.tick % 60 ~= 0 or not storage.tx.valid then return end
  local s = math.floor(event.tick / 60)
  sim.set_circuit_input(storage.tx, { { "signal-A", s }, { "iron-plate", s % 2 == 0 and 10 or 20 } })
end)

-- Scenario "producer": 4 put-chests filled with 100 iron-plate/s in total and 2 put-tanks with
-- 50 water/s in total, so the mod always has something to export.
local PLATES_PER_SECOND, WATER_PER_SECOND = 100, 50

script.on_init(function()
  local surface = game.surfaces[1]
  storage.chests, storage.tanks = {}, {}
  for i = 1, 4 do
    storage.chests[i] = surface.create_entity({ name = "put-chest", position = { i * 2, 0 }, force = "player", raise_built = true })
  end
  for i = 1, 2 do
    storage.tanks[i] = surface.create_entity({ name = "put-tank", position = { i * 4, 4 }, force = "player", raise_built = true })
  end
end)

-- storage.produced counts what this world ever made, per name, so tests can check conservation;
-- `storage.halt = true` (over RCON) stops production.
script.on_event(defines.events.on_tick, function(event)
  if event.tick % 60 ~= 0 or storage.halt then return end
  storage.produced = storage.produced or {}
  -- Once a second: spread the per-second amounts over the chests and tanks.
  for i, c in ipairs(storage.chests) do
    if c.valid then
      local n = c.get_inventory(defines.inventory.chest).insert({ name = "iron-plate", count = PLATES_PER_SECOND / #storage.chests })
      storage.produced["iron-plate"] = (storage.produced["iron-plate"] or 0) + n
    end
  end
  for _, t in ipairs(storage.tanks) do
    if t.valid then
      local f = t.fluidbox[1]
      t.fluidbox[1] = { name = "water", amount = (f and f.amount or 0) + WATER_PER_SECOND / #storage.tanks }
      storage.produced.water = (storage.produced.water or 0) + WATER_PER_SECOND / #storage.tanks
    end
  end
end)

-- factorio-sim's stand-in for the base game's prototypes: only the names, types and the few
-- fields the sim's runtime reads (stack sizes, inventory sizes, fluid box volumes).
local items = {
  { "iron-plate", 100 }, { "copper-plate", 100 }, { "steel-plate", 100 }, { "iron-ore", 50 },
  { "copper-ore", 50 }, { "coal", 50 }, { "stone", 50 }, { "wood", 100 },
  { "iron-gear-wheel", 100 }, { "copper-cable", 200 }, { "electronic-circuit", 200 },
  { "advanced-circuit", 200 }, { "processing-unit", 100 }, { "plastic-bar", 100 },
  { "sulfur", 50 }, { "battery", 200 }, { "stone-brick", 100 }, { "uranium-ore", 50 },
  { "steel-chest", 50 }, { "requester-chest", 50 }, { "storage-tank", 50 },
  { "constant-combinator", 50 }, { "transport-belt", 100 }, { "inserter", 50 },
}
local protos = {}
for _, it in ipairs(items) do
  protos[#protos + 1] = { type = "item", name = it[1], stack_size = it[2] }
end
for _, f in ipairs({ "water", "crude-oil", "steam", "petroleum-gas", "light-oil", "heavy-oil",
                     "lubricant", "sulfuric-acid" }) do
  protos[#protos + 1] = { type = "fluid", name = f, default_temperature = f == "steam" and 165 or 15 }
end
-- Virtual signals as in the base game: a letter each, digits, and the wildcards.
for c = string.byte("A"), string.byte("Z") do
  protos[#protos + 1] = { type = "virtual-signal", name = "signal-" .. string.char(c) }
end
for _, s in ipairs({ "signal-each", "signal-everything", "signal-anything" }) do
  protos[#protos + 1] = { type = "virtual-signal", name = s }
end
for i = 0, 9 do protos[#protos + 1] = { type = "virtual-signal", name = "signal-" .. i } end
protos[#protos + 1] = { type = "container", name = "steel-chest", inventory_size = 48,
  picture = {}, collision_box = { { -0.35, -0.35 }, { 0.35, 0.35 } } }
protos[#protos + 1] = { type = "logistic-container", name = "requester-chest", logistic_mode = "requester",
  inventory_size = 48, collision_box = { { -0.35, -0.35 }, { 0.35, 0.35 } } }
protos[#protos + 1] = { type = "storage-tank", name = "storage-tank",
  fluid_box = { volume = 25000, pipe_connections = {} } }
protos[#protos + 1] = { type = "constant-combinator", name = "constant-combinator" }
for _, r in ipairs({ "steel-chest", "requester-chest", "storage-tank", "constant-combinator" }) do
  protos[#protos + 1] = { type = "recipe", name = r, ingredients = {}, results = { { type = "item", name = r, amount = 1 } } }
end
data:extend(protos)

-- factorio-sim's stand-in for the base game's prototypes: the real names and types, with the
-- fields the game requires (placeholders where the sim draws nothing) and one shared icon.
local icon = "__base__/graphics/icon.png"
local protos = {
  { type = "item-group", name = "logistics", icon = icon },
  { type = "item-group", name = "intermediate-products", icon = icon },
  { type = "item-group", name = "combat", icon = icon },
  { type = "item-group", name = "signals", icon = icon },
  { type = "item-group", name = "fluids", icon = icon },
  { type = "item-subgroup", name = "storage", group = "logistics" },
  { type = "item-subgroup", name = "circuit-network", group = "logistics" },
  { type = "item-subgroup", name = "raw-material", group = "intermediate-products" },
  { type = "item-subgroup", name = "intermediate-product", group = "intermediate-products" },
  { type = "item-subgroup", name = "ammo", group = "combat" },
  { type = "item-subgroup", name = "armor", group = "combat" },
  { type = "item-subgroup", name = "virtual-signal", group = "signals" },
  { type = "item-subgroup", name = "fluid", group = "fluids" },
  { type = "quality", name = "normal", level = 0, color = { 0.8, 0.8, 0.8 }, icon = icon },
  { type = "equipment-grid", name = "small-equipment-grid", width = 5, height = 5,
    equipment_categories = { "armor" } },
}
local items = {
  { "iron-plate", 100 }, { "copper-plate", 100 }, { "steel-plate", 100 }, { "iron-ore", 50 },
  { "copper-ore", 50 }, { "coal", 50 }, { "stone", 50 }, { "wood", 100 },
  { "iron-gear-wheel", 100 }, { "copper-cable", 200 }, { "electronic-circuit", 200 },
  { "advanced-circuit", 200 }, { "processing-unit", 100 }, { "plastic-bar", 100 },
  { "sulfur", 50 }, { "battery", 200 }, { "stone-brick", 100 }, { "uranium-ore", 50 },
  { "transport-belt", 100 }, { "inserter", 50 },
}
for _, it in ipairs(items) do
  protos[#protos + 1] = { type = "item", name = it[1], stack_size = it[2], icon = icon }
end
-- Items of the entities below place them.
for _, e in ipairs({ "steel-chest", "requester-chest", "storage-tank", "constant-combinator" }) do
  protos[#protos + 1] = { type = "item", name = e, stack_size = 50, icon = icon, place_result = e,
                          subgroup = "storage" }
end
-- Items whose stacks carry state: partly used ammo and tools, armor with an equipment grid,
-- blueprints.
protos[#protos + 1] = { type = "ammo", name = "firearm-magazine", stack_size = 200, magazine_size = 10,
  ammo_category = "bullet", ammo_type = { action = {} }, icon = icon, subgroup = "ammo" }
protos[#protos + 1] = { type = "repair-tool", name = "repair-pack", stack_size = 100, speed = 2,
  durability = 300, icon = icon }
protos[#protos + 1] = { type = "armor", name = "modular-armor", stack_size = 1,
  equipment_grid = "small-equipment-grid", icon = icon, subgroup = "armor" }
protos[#protos + 1] = { type = "blueprint", name = "blueprint", stack_size = 1, icon = icon,
  select = { border_color = { 1, 1, 1 }, mode = { "blueprint" }, cursor_box_type = "copy" },
  alt_select = { border_color = { 1, 1, 1 }, mode = { "blueprint" }, cursor_box_type = "copy" } }
for _, f in ipairs({ "water", "crude-oil", "steam", "petroleum-gas", "light-oil", "heavy-oil",
                     "lubricant", "sulfuric-acid" }) do
  protos[#protos + 1] = { type = "fluid", name = f, default_temperature = f == "steam" and 165 or 15,
    base_color = { 0, 0, 1 }, flow_color = { 0, 0, 1 }, icon = icon, subgroup = "fluid" }
end
-- Virtual signals as in the base game: a letter each, digits, and the wildcards.
local signals = { "signal-each", "signal-everything", "signal-anything" }
for c = string.byte("A"), string.byte("Z") do signals[#signals + 1] = "signal-" .. string.char(c) end
for i = 0, 9 do signals[#signals + 1] = "signal-" .. i end
for _, s in ipairs(signals) do
  protos[#protos + 1] = { type = "virtual-signal", name = s, icon = icon, subgroup = "virtual-signal" }
end
-- The base game's planet: a space location, so a signal of type space-location can name it.
protos[#protos + 1] = { type = "planet", name = "nauvis", icon = icon, distance = 15, orientation = 0.275 }
local box = { { -0.35, -0.35 }, { 0.35, 0.35 } }
local function minable(name) return { mining_time = 0.1, result = name } end
protos[#protos + 1] = { type = "container", name = "steel-chest", inventory_size = 48,
  collision_box = box, minable = minable("steel-chest") }
protos[#protos + 1] = { type = "logistic-container", name = "requester-chest", logistic_mode = "requester",
  inventory_size = 48, collision_box = box, minable = minable("requester-chest") }
protos[#protos + 1] = { type = "storage-tank", name = "storage-tank", flow_length_in_ticks = 360,
  window_bounding_box = { { -0.125, 0.6875 }, { 0.1875, 1.1875 } },
  fluid_box = { volume = 25000, pipe_connections = {} }, minable = minable("storage-tank") }
protos[#protos + 1] = { type = "constant-combinator", name = "constant-combinator",
  activity_led_light_offsets = { { 0, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 } },
  circuit_wire_connection_points = {}, minable = minable("constant-combinator") }
for _, r in ipairs({ "steel-chest", "requester-chest", "storage-tank", "constant-combinator" }) do
  protos[#protos + 1] = { type = "recipe", name = r,
    ingredients = { { type = "item", name = "iron-plate", amount = 8 } },
    results = { { type = "item", name = r, amount = 1 } } }
end
data:extend(protos)

-- Prototypes: each clusterio entity copies a base entity, with its own item, recipe and icon.
local function icon(name) return "__clusterio__/graphics/" .. name .. ".png" end

local function make(base_type, base_name, name, changes)
  local e = table.deepcopy(data.raw[base_type][base_name])
  e.name = name
  e.icon = icon(name)
  e.icon_size = 64
  e.minable = { mining_time = 0.2, result = name }
  for k, v in pairs(changes or {}) do e[k] = v end
  local item = {
    type = "item", name = name, icon = icon(name), icon_size = 64,
    subgroup = "storage", order = "z[clusterio]-" .. name, place_result = name, stack_size = 50,
  }
  local recipe = {
    type = "recipe", name = name, enabled = true, energy_required = 1,
    ingredients = { { type = "item", name = base_name, amount = 1 },
                    { type = "item", name = "electronic-circuit", amount = 20 } },
    results = { { type = "item", name = name, amount = 1 } },
  }
  data:extend({ e, item, recipe })
end

make("container", "steel-chest", "put-chest")
-- A requester chest: its logistic request sections say what it wants from the cluster.
make("logistic-container", "requester-chest", "get-chest", { logistic_mode = "requester" })
make("storage-tank", "storage-tank", "put-tank")
-- A get-tank's fluid is chosen in a panel beside its window (lua/get_tank.lua).
make("storage-tank", "storage-tank", "get-tank")
-- The channel of a transmitter or receiver is its combinator description text.
make("constant-combinator", "constant-combinator", "transmitter-combinator")
make("constant-combinator", "constant-combinator", "receiver-combinator")
make("constant-combinator", "constant-combinator", "inventory-combinator")

data:extend({
  { type = "virtual-signal", name = "signal-unixtime", icon = icon("signal-unixtime"),
    icon_size = 64, subgroup = "virtual-signal", order = "z[clusterio]" },
})

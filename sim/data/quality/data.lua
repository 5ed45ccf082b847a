-- factorio-sim's stand-in for the game's quality mod: the four qualities above normal.
local icon = "__quality__/graphics/icon.png"
local names = { "uncommon", "rare", "epic", "legendary" }
local levels = { uncommon = 1, rare = 2, epic = 3, legendary = 5 }
local protos = {}
for i, name in ipairs(names) do
  protos[i] = { type = "quality", name = name, level = levels[name], next = names[i + 1],
                color = { 1, 1, 1 }, icon = icon }
end
data.raw.quality.normal.next = "uncommon"
data:extend(protos)

-- clusterio mod: put-chests and put-tanks, whose contents leave the world into export batches.
--
-- A put-chest takes items of every quality that are exactly what a name and a quality stand for
-- on the wire: no state of their own. Items that carry state (anything with an item number:
-- armor and its grid, blueprints and books, planners, items with an inventory, a label or tags;
-- and damaged, spoiling, partly used ammo or tools) stay in the chest and are counted as held
-- back, rather than destroyed or recreated fresh elsewhere.

local core = require("lua.core")

local putters = {}

--- Whether a stack differs from a fresh one of its name. Each test reads only attributes its
--- item kind has.
local function carries_state(stack)
  if stack.item_number ~= nil or stack.health < 1 or stack.spoil_percent > 0 then return true end
  if stack.is_ammo and stack.ammo < stack.prototype.magazine_size then return true end
  if stack.is_tool and stack.durability < stack.prototype.get_durability("normal") then return true end
  return false
end

local function hold(held, name, quality, n)
  held[name] = held[name] or {}
  held[name][quality] = (held[name][quality] or 0) + n
end

function putters.empty_put_chest(e)
  local unit = e.unit_number
  local inv = e.get_inventory(defines.inventory.chest)
  local left = 0
  for _, it in ipairs(inv.get_contents()) do left = left + it.count end
  local held = {}
  -- Slot by slot, each stack as it is; the contents' total ends the walk early.
  for i = 1, #inv do
    if left <= 0 then break end
    local stack = inv[i]
    if stack.valid_for_read then
      local name, n = stack.name, stack.count
      local quality = core.quality_name(stack.quality)
      left = left - n
      if carries_state(stack) then
        hold(held, name, quality, n)
      elseif core.allowed(name) then
        stack.clear()
        core.add(storage.open, core.item_key(name, quality), n)
      end
    end
  end
  storage.held_back_of[unit] = next(held) and held or nil
end

--- The volume of a tank's own fluid box. get_capacity gives the capacity of the box's fluid
--- segment (all tanks joined by pipes), so the smaller of the two is the box, in either reading.
function putters.own_capacity(e)
  local fb = e.fluidbox
  return math.min(fb.get_prototype(1).volume, fb.get_capacity(1))
end

--- Whole units of the tank's fluid, never more than its own box holds: the fraction stays.
function putters.empty_put_tank(e)
  local f = e.fluidbox[1]
  if not f or not core.allowed(f.name) then return end
  local take = math.floor(math.min(f.amount, putters.own_capacity(e)))
  if take <= 0 then return end
  local removed = e.remove_fluid({ name = f.name, amount = take })
  local whole = math.floor(removed)
  if removed > whole then
    e.insert_fluid({ name = f.name, amount = removed - whole, temperature = f.temperature })
  end
  if whole > 0 then core.add(storage.open, f.name, whole) end
end

return putters

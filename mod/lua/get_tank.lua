-- clusterio mod: the fluid a get-tank asks the cluster for.
--
-- A storage tank has no fluid filter a player can set in 2.0, so the choice is the mod's: a
-- panel with a fluid chooser beside the tank's window (a relative GUI), kept in `storage` per
-- tank. It follows the tank through copy and paste of settings, blueprints (as a tag),
-- cloning, and undo or redo of its removal (the mod remembers the choice of a removed tank by
-- its place and gives it back to a get-tank built there: this holds however the game records
-- the removal, and whoever rebuilds it). A tank with no choice asks for nothing, and its
-- status says why. Scenarios and other mods choose through the same function as the player,
-- over the remote interface "clusterio_entities".

local core = require("lua.core")

local get_tank = {}

local NAME = "get-tank"
local TAG = "clusterio_fluid"
local FRAME = "clusterio_get_tank"
local CHOOSER = "clusterio_get_tank_fluid"
--- Removed get-tanks whose choice is remembered for an undo; the oldest go first.
local REMEMBERED = 1000

local function is_get_tank(e) return e ~= nil and e.valid and e.name == NAME end

local function show_status(e, fluid)
  if fluid then
    e.custom_status = nil
  else
    e.custom_status = { diode = defines.entity_status_diode.red, label = { "clusterio.get-tank-no-fluid" } }
  end
end

function get_tank.fluid_of(e) return storage.tank_fluid[e.unit_number] end

--- Sets (or, with nil, clears) the fluid a get-tank asks for. Returns false for a name that is
--- not a fluid.
function get_tank.set_fluid(e, fluid)
  if fluid ~= nil and not prototypes.fluid[fluid] then return false end
  storage.tank_fluid[e.unit_number] = fluid
  show_status(e, fluid)
  return true
end

local function place_key(e)
  local p = e.position
  return e.surface.index .. ":" .. p.x .. ":" .. p.y
end

--- A get-tank leaves the world: remember its choice at its place.
function get_tank.on_removed(e)
  local fluid = storage.tank_fluid[e.unit_number]
  storage.tank_fluid[e.unit_number] = nil
  if not fluid then return end
  storage.removed_seq = storage.removed_seq + 1
  storage.removed_tanks[place_key(e)] = { fluid = fluid, seq = storage.removed_seq }
  local oldest, count = nil, 0
  for k, r in pairs(storage.removed_tanks) do
    count = count + 1
    if not oldest or r.seq < storage.removed_tanks[oldest].seq then oldest = k end
  end
  if count > REMEMBERED then storage.removed_tanks[oldest] = nil end
end

--- A get-tank enters the world: its blueprint tag, else what a tank removed from its place
--- had, else nothing.
function get_tank.on_built(e, tags)
  local key = place_key(e)
  local remembered = storage.removed_tanks[key]
  storage.removed_tanks[key] = nil
  local fluid = tags and tags[TAG] or remembered and remembered.fluid
  if not get_tank.set_fluid(e, fluid) then get_tank.set_fluid(e, nil) end
end

function get_tank.on_cloned(source, destination)
  if is_get_tank(source) and is_get_tank(destination) then get_tank.set_fluid(destination, get_tank.fluid_of(source)) end
end

function get_tank.on_settings_pasted(event)
  if is_get_tank(event.source) and is_get_tank(event.destination) then
    get_tank.set_fluid(event.destination, get_tank.fluid_of(event.source))
  end
end

--- The blueprint being set up: the event's stack, else the one the player is setting up, else
--- the cursor's, else the blueprint library's record (the API has had each of these places).
local function blueprint_of(event, player)
  for _, stack in ipairs({ event.stack, player.blueprint_to_setup, player.cursor_stack }) do
    if stack and stack.valid_for_read and stack.is_blueprint and stack.is_blueprint_setup() then return stack end
  end
  return event.record
end

function get_tank.on_setup_blueprint(event)
  local player = game.get_player(event.player_index)
  local blueprint = player and blueprint_of(event, player)
  if not blueprint then return end
  for index, e in pairs(event.mapping.get()) do
    local fluid = is_get_tank(e) and get_tank.fluid_of(e)
    if fluid then blueprint.set_blueprint_entity_tag(index, TAG, fluid) end
  end
end

---------------------------------------------------------------------------------------------------
-- The panel beside a get-tank's window.

local function panel_text(fluid)
  if fluid then return { "clusterio.get-tank-asks", fluid } end
  return { "clusterio.get-tank-no-fluid" }
end

local function close_panel(player)
  for _, child in ipairs(player.gui.relative.children) do
    if child.name == FRAME then child.destroy() end
  end
end

function get_tank.on_gui_opened(event)
  local player = game.get_player(event.player_index)
  if not player or not is_get_tank(event.entity) then return end
  close_panel(player)
  local fluid = get_tank.fluid_of(event.entity)
  local frame = player.gui.relative.add({ type = "frame", name = FRAME, direction = "vertical",
    caption = { "clusterio.get-tank-title" },
    anchor = { gui = defines.relative_gui_type.storage_tank_gui,
               position = defines.relative_gui_position.right, name = NAME } })
  frame.add({ type = "choose-elem-button", name = CHOOSER, elem_type = "fluid", fluid = fluid })
  frame.add({ type = "label", name = "status", caption = panel_text(fluid) })
end

function get_tank.on_gui_closed(event)
  local player = game.get_player(event.player_index)
  if player and is_get_tank(event.entity) then close_panel(player) end
end

function get_tank.on_gui_elem_changed(event)
  local chooser = event.element
  if chooser.name ~= CHOOSER then return end
  local player = game.get_player(event.player_index)
  local tank = player and player.opened
  -- The chooser is only on screen beside an open get-tank window: that tank is the choice's.
  if not (tank and tank.object_name == "LuaEntity" and is_get_tank(tank)) then return end
  get_tank.set_fluid(tank, chooser.elem_value)
  for _, child in ipairs(chooser.parent.children) do
    if child.name == "status" then child.caption = panel_text(chooser.elem_value) end
  end
end

--- Saves made before the choice was the mod's kept it as the tank's fluid box filter (set by
--- scripts): adopt it once. Tanks with no choice show why.
function get_tank.adopt_filters()
  for _, r in ipairs(storage.lists.get_tanks) do
    local e = r.e
    if e.valid and storage.tank_fluid[e.unit_number] == nil then
      local filter = e.fluidbox.get_filter(1)
      get_tank.set_fluid(e, filter and filter.name)
    end
  end
end

--- The remote interface "clusterio_entities": scenarios and other mods choose here.
get_tank.interface = {
  set_get_tank_fluid = function(entity, fluid)
    if not is_get_tank(entity) then return false end
    return get_tank.set_fluid(entity, fluid)
  end,
  get_get_tank_fluid = function(entity)
    if not is_get_tank(entity) then return nil end
    return get_tank.fluid_of(entity)
  end,
}

return get_tank

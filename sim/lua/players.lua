-- factorio-sim: players (LuaPlayer) and what a scenario or test makes a player do through the
-- level-only `sim` table: join and leave, open an entity's window, pick a value in a chooser,
-- paste settings, make and build blueprints, build, mine, undo and redo. Each action raises the
-- events the game raises for it, with the fields the API documents.

local W, P, I, E, G, events = ...

local PL = { players = {} }

PL.new_player_proxy = W.class("LuaPlayer", {
  name = function(st) return st.name end,
  index = function(st) return st.index end,
  connected = function(st) return st.connected end,
  force = function() return E.forces.player.proxy end,
  gui = function(st) return st.gui.proxy end,
  opened = function(st) return st.opened and st.opened.valid ~= false and st.opened.proxy or nil end,
  -- Empty: the sim's player holds nothing in the cursor and sets no blueprint up by hand.
  cursor_stack = function(st) return I.new_stack({ holder = st.cursor, i = 1 }) end,
  blueprint_to_setup = function(st) return I.new_stack({ holder = st.cursor, i = 1 }) end,
}, {
  opened = function(st, _, v)
    if v == nil then st.opened = nil; return end
    local cls = W.class_of(v)
    if cls ~= "LuaEntity" and cls ~= "LuaGuiElement" then W.unemulated("opening a " .. tostring(cls)) end
    st.opened = W.STATE[v]
  end,
}, {
  print = function(st, _, message, print_settings) end,
})

local new_lazy = W.class("LuaLazyLoadedValue", {}, {}, {
  get = function(st) return st.value end,
})

local function player(name)
  for _, p in ipairs(PL.players) do if p.name == name then return p end end
  error("No player named " .. tostring(name), 3)
end

local function make_player(name, index, connected)
  local st = { name = name, index = index, connected = connected, undo = {}, redo = {},
               cursor = I.new_holder(1) }
  st.proxy = PL.new_player_proxy(st)
  st.gui = G.new_gui(st)
  return st
end

--- A player joins (or rejoins) and on_player_joined_game is raised.
function PL.join(name)
  local ok, st = pcall(player, name)
  if not ok then
    st = make_player(name, #PL.players + 1, false)
    PL.players[st.index] = st
  end
  st.connected = true
  events.raise(defines.events.on_player_joined_game, { player_index = st.index })
end

function PL.leave(name)
  local st = player(name)
  if not st.connected then return end
  st.connected = false
  events.raise(defines.events.on_player_left_game, { player_index = st.index, reason = defines.disconnect_reason.quit })
end

function PL.open(name, entity)
  local st = player(name)
  st.opened = W.STATE[entity]
  events.raise(defines.events.on_gui_opened, { player_index = st.index, gui_type = defines.gui_type.entity, entity = entity })
end

function PL.close(name)
  local st = player(name)
  local was = st.opened
  st.opened = nil
  events.raise(defines.events.on_gui_closed, { player_index = st.index, gui_type = defines.gui_type.entity,
                                               entity = was and was.proxy or nil })
end

function PL.choose(name, element, value)
  G.choose(element, value)
  events.raise(defines.events.on_gui_elem_changed, { element = element, player_index = player(name).index })
end

function PL.paste_settings(name, source, destination)
  local e = { player_index = player(name).index, source = source, destination = destination }
  events.raise(defines.events.on_pre_entity_settings_pasted, e)
  events.raise(defines.events.on_entity_settings_pasted, { player_index = e.player_index, source = source, destination = destination })
end

--- The player selects `entities` for a new blueprint; returns the blueprint (a LuaItemStack).
function PL.blueprint(name, entities)
  local holder = I.new_holder(1)
  holder.stacks[1] = I.stack_arg({ name = "blueprint" })
  local bp, mapping = {}, {}
  for i, e in ipairs(entities) do
    local st = W.STATE[e]
    bp[i] = { name = st.name, position = { x = st.position.x, y = st.position.y } }
    mapping[i] = e
  end
  holder.stacks[1].blueprint = bp
  local stack = I.new_stack({ holder = holder, i = 1 })
  events.raise(defines.events.on_player_setup_blueprint, { player_index = player(name).index,
    surface = E.surfaces[1].proxy, area = { left_top = { x = 0, y = 0 }, right_bottom = { x = 0, y = 0 } },
    item = "blueprint", quality = "normal", alt = false, stack = stack, mapping = new_lazy({ value = mapping }) })
  return stack
end

local function built(st, entity, tags)
  events.raise(defines.events.on_built_entity, { entity = entity, player_index = st.index, tags = tags,
    consumed_items = I.new_inventory(I.new_holder(0)) })
end

--- The player builds a blueprint at `offset` (built at once: no ghosts, no robots).
function PL.build_blueprint(name, stack, offset)
  local st = player(name)
  local out = {}
  for _, e in ipairs(stack.get_blueprint_entities() or {}) do
    local c = E.create(e.name, 1, "player", { x = e.position.x + offset.x, y = e.position.y + offset.y })
    built(st, c.proxy, e.tags)
    out[#out + 1] = c.proxy
  end
  return out
end

function PL.build(name, entity_name, position, tags)
  local c = E.create(entity_name, 1, "player", { x = position.x, y = position.y })
  built(player(name), c.proxy, tags)
  return c.proxy
end

local function mine(st, e)
  local es = W.STATE[e]
  events.raise(defines.events.on_pre_player_mined_item, { player_index = st.index, entity = e })
  events.raise(defines.events.on_player_mined_entity, { player_index = st.index, entity = e,
    buffer = I.new_inventory(I.new_holder(0)) })
  E.remove(es)
  return { name = es.name, position = es.position, surface = es.surface }
end

function PL.mine(name, entity)
  local st = player(name)
  st.undo[#st.undo + 1] = mine(st, entity)
  st.redo = {}
end

--- Undoes the player's last removal: the entity comes back where it was (built at once, where
--- the game places a ghost), and on_undo_applied says so.
function PL.undo(name)
  local st = player(name)
  local a = table.remove(st.undo)
  if not a then return nil end
  local c = E.create(a.name, a.surface, "player", a.position)
  st.redo[#st.redo + 1] = c
  built(st, c.proxy, nil)
  events.raise(defines.events.on_undo_applied, { player_index = st.index, actions = {
    { type = "removed-entity", surface_index = a.surface, target = { name = a.name, position = a.position } } } })
  return c.proxy
end

function PL.redo(name)
  local st = player(name)
  local c = table.remove(st.redo)
  if not c or c.valid == false then return end
  local a = mine(st, c.proxy)
  st.undo[#st.undo + 1] = a
  events.raise(defines.events.on_redo_applied, { player_index = st.index, actions = {
    { type = "removed-entity", surface_index = a.surface, target = { name = a.name, position = a.position } } } })
end

function PL.connected_count()
  local n = 0
  for _, p in ipairs(PL.players) do if p.connected then n = n + 1 end end
  return n
end

function PL.dump()
  local out = {}
  for i, p in ipairs(PL.players) do out[i] = { name = p.name, connected = p.connected } end
  return out
end

function PL.restore(list)
  PL.players = {}
  -- Everyone is disconnected after a load, as on a freshly started server.
  for i, p in ipairs(list or {}) do PL.players[i] = make_player(p.name, i, false) end
end

return PL

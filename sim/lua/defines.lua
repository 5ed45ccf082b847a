-- factorio-sim: the part of `defines` the sim emulates. Names are the game's (tests/api holds
-- them against the real API); the numbers are the sim's own, as mods must not rely on them.

local event_names = {
  "on_tick", "on_built_entity", "on_robot_built_entity", "on_space_platform_built_entity",
  "script_raised_built", "script_raised_revive", "on_entity_cloned", "on_player_mined_entity",
  "on_robot_mined_entity", "on_space_platform_mined_entity", "on_entity_died",
  "script_raised_destroy", "on_pre_player_mined_item", "on_robot_pre_mined",
  "on_runtime_mod_setting_changed", "on_player_joined_game", "on_player_left_game",
  "on_player_created", "on_pre_entity_settings_pasted", "on_entity_settings_pasted",
  "on_gui_opened", "on_gui_closed", "on_gui_elem_changed", "on_player_setup_blueprint",
  "on_undo_applied", "on_redo_applied", "on_surface_created", "on_marked_for_deconstruction",
  "on_object_destroyed",
}

local function enum(names)
  local t = {}
  for i, n in ipairs(names) do t[n] = i - 1 end
  return t
end

local defines = {
  events = enum(event_names),
  inventory = { fuel = 1, chest = 1, item_main = 1 },
  wire_connector_id = { circuit_red = 1, circuit_green = 2 },
  control_behavior = { type = { constant_combinator = 10 } },
  disconnect_reason = { quit = 0, dropped = 1, kicked = 3 },
  gui_type = enum({ "none", "entity", "custom" }),
  relative_gui_type = enum({ "container_gui", "storage_tank_gui", "constant_combinator_gui" }),
  relative_gui_position = enum({ "top", "bottom", "left", "right" }),
  entity_status_diode = enum({ "green", "red", "yellow" }),
  logistic_section_type = enum({ "manual" }),
}

return defines, #event_names

// Issue 21, item 2: a get-tank's fluid is the player's choice, made in a panel beside the tank's
// window, and it follows the tank through saves, pasted settings, blueprints, cloning, undo and
// redo. A tank with no choice asks for nothing and says why.

#include "tests/sim/sim_process.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using clusterio::test::fast_ups;
using clusterio::test::sim_process;

namespace {

const char* world = R"(
script.on_init(function()
  storage.tank = game.surfaces[1].create_entity({name = "get-tank", position = {0, 0}, force = "player", raise_built = true})
  sim.join_player("p")
end)
-- The fluid the mod keeps for a tank, through its interface for scenarios and other mods.
function fluid_of(e) return remote.call("clusterio_entities", "get_get_tank_fluid", e) or "none" end
-- The player's panel beside an open get-tank window: its frame, or nil.
function panel()
  for _, c in ipairs(game.players.p.gui.relative.children) do
    if c.anchor and c.anchor.gui == defines.relative_gui_type.storage_tank_gui then return c end
  end
end
function chooser()
  for _, c in ipairs(panel().children) do if c.type == "choose-elem-button" then return c end end
end
-- rcon.print of several values, separated by spaces.
function show(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  rcon.print(table.concat(parts, " "))
end
)";

/// The fluids asked for in the latest request report.
json requested(sim_process& sim) {
  auto reports = sim.ipc("request");
  return reports.empty() ? json::array() : reports.back()["items"];
}

} // namespace

TEST_CASE("a player chooses a get-tank's fluid in a panel beside its window") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.run_ticks(130);
  // No choice: nothing is asked for, and the tank's status says why.
  CHECK(requested(sim) == json::array());
  CHECK(sim.command("/sc rcon.print(storage.tank.custom_status.label[1])") == "clusterio.get-tank-no-fluid\n");

  sim.command("/sc sim.open_gui('p', storage.tank)");
  CHECK(sim.command("/sc show(panel().anchor.position == defines.relative_gui_position.right)") == "true\n");
  CHECK(sim.command("/sc show(chooser().elem_type, chooser().elem_value == nil)") == "fluid true\n");
  sim.command("/sc sim.choose('p', chooser(), 'water')");
  CHECK(sim.command("/sc show(fluid_of(storage.tank), storage.tank.custom_status == nil)") == "water true\n");
  sim.run_ticks(130);
  CHECK(requested(sim) == json::parse(R"([["water",25000]])"));
  // A grant fills it.
  auto r = sim.call("apply_grants", {{"grants", {{{"grant_id", 1}, {"name", "water"}, {"count", 1000}}}}});
  CHECK(r["results"][0]["status"] == "applied");
  CHECK(sim.lua_int("storage.tank.fluidbox[1].amount") == 1000);

  // Reopening shows the choice; closing removes the panel; clearing the choice stops asking.
  sim.command("/sc sim.close_gui('p') sim.open_gui('p', storage.tank)");
  CHECK(sim.command("/sc rcon.print(chooser().elem_value)") == "water\n");
  sim.command("/sc sim.choose('p', chooser(), nil) sim.close_gui('p')");
  CHECK(sim.command("/sc show(panel() == nil, fluid_of(storage.tank))") == "true none\n");
}

TEST_CASE("a get-tank's fluid survives saves, paste, blueprints, cloning, undo and redo") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.command("/sc sim.open_gui('p', storage.tank) sim.choose('p', chooser(), 'crude-oil') sim.close_gui('p')");
  CHECK(sim.stop() == 0);
  sim.start();
  CHECK(sim.command("/sc rcon.print(fluid_of(storage.tank))") == "crude-oil\n");

  sim.command("/sc storage.other = game.surfaces[1].create_entity({name = 'get-tank', position = {4, 0}, raise_built = true})");
  CHECK(sim.command("/sc rcon.print(fluid_of(storage.other))") == "none\n");
  sim.command("/sc sim.paste_settings('p', storage.tank, storage.other)");
  CHECK(sim.command("/sc rcon.print(fluid_of(storage.other))") == "crude-oil\n");

  CHECK(sim.command("/sc storage.bp = sim.blueprint('p', {storage.tank})") == "");
  CHECK(sim.command("/sc rcon.print(storage.bp.get_blueprint_entity_tag(1, 'clusterio_fluid'))") == "crude-oil\n");
  sim.command("/sc storage.built = sim.build_blueprint('p', storage.bp, {x = 10, y = 0})[1]");
  CHECK(sim.command("/sc rcon.print(fluid_of(storage.built))") == "crude-oil\n");

  sim.command("/sc storage.clone = storage.tank.clone({position = {20, 0}})");
  CHECK(sim.command("/sc rcon.print(fluid_of(storage.clone))") == "crude-oil\n");

  // Mined, then brought back by undo (where it stood), removed again by redo, back by undo.
  sim.command("/sc sim.mine('p', storage.tank)");
  sim.command("/sc storage.back = sim.undo('p')");
  CHECK(sim.command("/sc rcon.print(fluid_of(storage.back))") == "crude-oil\n");
  sim.command("/sc sim.redo('p') storage.again = sim.undo('p')");
  CHECK(sim.command("/sc show(storage.back.valid, fluid_of(storage.again))") == "false crude-oil\n");
  // A tank built by hand elsewhere starts without a choice.
  sim.command("/sc storage.fresh = sim.build('p', 'get-tank', {x = 40, y = 0})");
  CHECK(sim.command("/sc rcon.print(fluid_of(storage.fresh))") == "none\n");
  // The four tanks with a choice ask for their fluid like any other: 25,000 each.
  sim.run_ticks(130);
  CHECK(requested(sim) == json::parse(R"([["crude-oil",100000]])"));
}

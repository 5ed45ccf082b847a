// Issue 21, items 3 and 4: a put-chest sends items of every quality as themselves ([name, count,
// quality] for any but normal). Items that carry state (an equipment grid, an item number, spoil
// progress, damage, partly used ammo or tools) stay in the chest, exactly as they were, counted
// as held back in `status`. Get-chests ask for the quality each logistic filter names, and are
// given that quality; the inventory combinator outputs quality signals.

#include "tests/sim/sim_process.hpp"
#include "tests/support/mod_folder.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using clusterio::test::fast_ups;
using clusterio::test::sim_process;
using clusterio::test::spoiling_mod;

namespace {

const char* world = R"(
script.on_init(function()
  local s = game.surfaces[1]
  storage.put = s.create_entity({name = "put-chest", position = {0, 0}, raise_built = true})
  storage.get = s.create_entity({name = "get-chest", position = {4, 0}, raise_built = true})
  storage.inv = s.create_entity({name = "inventory-combinator", position = {8, 0}, raise_built = true})
  local section = storage.get.get_logistic_sections().get_section(1)
  section.set_slot(1, {value = {type = "item", name = "iron-plate", quality = "normal"}, min = 20})
  section.set_slot(2, {value = {type = "item", name = "copper-plate", quality = "rare"}, min = 50})
end)
-- The stack of `name` in the put-chest, or nil.
function stack_of(name)
  local inv = storage.put.get_inventory(defines.inventory.chest)
  for i = 1, #inv do
    if inv[i].valid_for_read and inv[i].name == name then return inv[i] end
  end
end
)";

} // namespace

TEST_CASE("put-chests send every quality as itself, keep items with state and count them as held back") {
  sim_process sim(world, fast_ups);
  auto spoiling = spoiling_mod(sim.icon_png());
  sim.write_mod(spoiling.name, spoiling.info, spoiling.files);
  sim.start();
  sim.command(R"(/sc local inv = storage.put.get_inventory(defines.inventory.chest)
    inv.insert({name = "iron-plate", count = 10})
    inv.insert({name = "iron-plate", count = 5, quality = "rare"})
    inv.insert({name = "firearm-magazine", count = 10})
    inv.insert({name = "firearm-magazine", count = 20, ammo = 3})
    inv.insert({name = "steel-chest", count = 3, health = 0.5})
    inv.insert({name = "repair-pack", count = 1, durability = 120})
    inv.insert({name = "jelly", count = 4, spoil_percent = 0.25})
    inv.insert({name = "modular-armor"})
    inv.insert({name = "blueprint"})
    stack_of("modular-armor").create_grid().put({name = "solar-panel-equipment"}))");
  sim.run_ticks(130);

  auto exports = sim.ipc("export");
  REQUIRE(exports.size() == 1);
  CHECK(exports[0]["items"] == json::parse(R"([["firearm-magazine",10],["iron-plate",10],["iron-plate",5,"rare"]])"));
  CHECK(sim.call("status", json::object())["held_back"] == json::parse(R"({
    "blueprint": {"normal": 1}, "firearm-magazine": {"normal": 20},
    "jelly": {"normal": 4}, "modular-armor": {"normal": 1}, "repair-pack": {"normal": 1},
    "steel-chest": {"normal": 3}})"));
  CHECK(sim.lua_int("stack_of('iron-plate') == nil and 1 or 0") == 1);
  // What stayed is as it was.
  CHECK(sim.command("/sc rcon.print(stack_of('firearm-magazine').ammo)") == "3\n");
  CHECK(sim.command("/sc rcon.print(stack_of('steel-chest').health)") == "0.5\n");
  CHECK(sim.command("/sc rcon.print(stack_of('repair-pack').durability)") == "120\n");
  CHECK(sim.command("/sc rcon.print(stack_of('jelly').spoil_percent)") == "0.25\n");
  CHECK(sim.lua_int("stack_of('modular-armor').grid.count()") == 1);

  // Taken out by a player, they no longer count.
  sim.command("/sc storage.put.get_inventory(defines.inventory.chest).clear()");
  sim.run_ticks(130);
  CHECK(sim.call("status", json::object())["held_back"].empty());
}

TEST_CASE("get-chests ask for the quality each filter names, and are given that quality") {
  sim_process sim(world, fast_ups);
  sim.start();
  auto count = [&](const char* name, const char* quality) {
    return sim.lua_int(std::string("storage.get.get_inventory(defines.inventory.chest).get_item_count({name = '") + name +
                       "', quality = '" + quality + "'})");
  };
  // A rare plate in the chest does not count toward the normal ones it asks for.
  sim.command("/sc storage.get.get_inventory(defines.inventory.chest).insert({name = 'iron-plate', count = 7, quality = 'rare'})");
  sim.run_ticks(130);
  auto requests = sim.ipc("request");
  REQUIRE(!requests.empty());
  CHECK(requests.back()["items"] == json::parse(R"([["copper-plate",50,"rare"],["iron-plate",20]])"));
  // Grants put in the quality they carry; none given is normal.
  auto r = sim.call("apply_grants", {{"grants", {{{"grant_id", 1}, {"name", "iron-plate"}, {"count", 20}},
                                                 {{"grant_id", 2}, {"name", "copper-plate"}, {"count", 50}, {"quality", "rare"}},
                                                 {{"grant_id", 3}, {"name", "copper-plate"}, {"count", 1}, {"quality", "normal"}},
                                                 {{"grant_id", 4}, {"name", "copper-plate"}, {"count", 1}, {"quality", "shiny"}},
                                                 {{"grant_id", 5}, {"name", "water"}, {"count", 1}, {"quality", "rare"}}}}});
  CHECK(r["results"][0]["status"] == "applied");
  CHECK(r["results"][1]["status"] == "applied");
  // One spelling: normal is never named; qualities this world lacks, and fluids', are refused.
  CHECK(r["results"][2]["status"] == "rejected");
  CHECK(r["results"][3]["status"] == "rejected");
  CHECK(r["results"][4]["status"] == "rejected");
  CHECK(count("iron-plate", "normal") == 20);
  CHECK(count("iron-plate", "rare") == 7);
  CHECK(count("copper-plate", "rare") == 50);
  CHECK(count("copper-plate", "normal") == 0);
}

TEST_CASE("the inventory combinator outputs each quality as its own signal") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.call("set_inventory", {{"time_ms", 1700000000000.0}, {"full", true},
                             {"levels", json::parse(R"([["iron-plate",12],["iron-plate",3,"legendary"],["iron-plate",1,"no-such-quality"]])")}});
  auto out = sim.lua_json("rcon.print(helpers.table_to_json(storage.inv.get_or_create_control_behavior().get_section(1).filters))");
  // Sorted by full id: (type, name, quality).
  REQUIRE(out.size() == 3);
  CHECK(out[0]["value"]["name"] == "iron-plate");
  CHECK(out[0]["value"]["quality"] == "legendary");
  CHECK(out[0]["min"] == 3);
  CHECK(out[1]["value"]["name"] == "iron-plate");
  CHECK(out[1]["value"]["quality"] == "normal");
  CHECK(out[1]["min"] == 12);
  CHECK(out[2]["value"]["name"] == "signal-unixtime");
  CHECK(out[2]["value"]["type"] == "virtual");
}

// Issue 21: factorio-sim refuses what the game refuses at run time, and has what the game has:
// filters need a quality where the game requires one, values are 32-bit, a bare item name is
// a full stack, circuit reads need a wire connector, tanks joined by pipes share one fluid
// segment, and item stacks carry quality and state.

#include "tests/sim/sim_process.hpp"

#include <catch2/catch.hpp>

using clusterio::test::sim_process;

namespace {

const char* world = R"(
script.on_init(function()
  local s = game.surfaces[1]
  local function make(name, x) return s.create_entity({name = name, position = {x, 0}}) end
  storage.cc = make("constant-combinator", 0)
  storage.chest = make("steel-chest", 2)
  storage.a, storage.b = make("storage-tank", 4), make("storage-tank", 8)
end)
-- "accepted" or "refused: <the error>", for running `f` as a mod would.
function try(f)
  local ok, err = pcall(f)
  rcon.print(ok and "accepted" or "refused: " .. tostring(err))
end
function section() return storage.cc.get_or_create_control_behavior().get_section(1) end
function inv() return storage.chest.get_inventory(defines.inventory.chest) end
function first(name)
  for i = 1, #inv() do if inv()[i].valid_for_read and inv()[i].name == name then return inv()[i] end end
end
)";

bool refused(const std::string& reply) { return reply.rfind("refused: ", 0) == 0; }

} // namespace

TEST_CASE("a filter with a minimum needs a quality; values are 32-bit; a section holds 1,000") {
  sim_process sim(world);
  sim.start();
  auto run = [&](const std::string& lua) { return sim.command("/sc try(function() " + lua + " end)"); };
  CHECK(refused(run("section().set_slot(1, {value = {type = 'item', name = 'iron-plate'}, min = 5})")));
  CHECK(refused(run("section().filters = {{value = {type = 'virtual', name = 'signal-A'}, min = 1}}")));
  CHECK(run("section().set_slot(1, {value = {type = 'item', name = 'iron-plate', quality = 'normal'}, min = 5})") == "accepted\n");
  CHECK(run("section().set_slot(2, {value = {type = 'item', name = 'copper-plate'}, min = 0})") == "accepted\n");
  CHECK(run("section().set_slot(3, {value = 'signal-A', min = 2})") == "accepted\n");

  CHECK(refused(run("section().set_slot(4, {value = {type = 'virtual', name = 'signal-B', quality = 'normal'}, min = 2147483648})")));
  CHECK(refused(run("section().set_slot(4, {value = {type = 'virtual', name = 'signal-B', quality = 'normal'}, min = -2147483649})")));
  CHECK(run("section().set_slot(4, {value = {type = 'virtual', name = 'signal-B', quality = 'normal'}, min = -2147483648})") == "accepted\n");
  CHECK(refused(run("sim.set_circuit_input(storage.cc, {{'signal-A', 2 ^ 31}})")));

  CHECK(refused(run("section().set_slot(1001, {value = 'signal-C', min = 1})")));
  CHECK(refused(run("local f = {} for i = 1, 1001 do f[i] = {value = 'signal-A', min = 0} end section().filters = f")));
  CHECK(run("local f = {} for i = 1, 1000 do f[i] = {value = 'signal-A', min = 0} end section().filters = f") == "accepted\n");
}

TEST_CASE("signals are any of the game's signal types, of a prototype and quality that exist") {
  sim_process sim(world);
  sim.start();
  auto run = [&](const std::string& lua) { return sim.command("/sc try(function() " + lua + " end)"); };
  auto slot = [&](const std::string& value) { return run("section().set_slot(1, {value = " + value + ", min = 1})"); };
  for (auto* ok : {"{type = 'item', name = 'iron-plate', quality = 'normal'}", "{type = 'fluid', name = 'water', quality = 'normal'}",
                   "{type = 'virtual', name = 'signal-A', quality = 'normal'}", "{type = 'entity', name = 'steel-chest', quality = 'normal'}",
                   "{type = 'recipe', name = 'steel-chest', quality = 'normal'}", "{type = 'quality', name = 'normal', quality = 'normal'}",
                   "{type = 'space-location', name = 'nauvis', quality = 'normal'}"})
    CHECK(slot(ok) == "accepted\n");
  // A type the game does not have, a name its type has no prototype of, a quality that does not exist.
  CHECK(refused(slot("{type = 'planet', name = 'nauvis', quality = 'normal'}")));
  CHECK(refused(slot("{type = 'items', name = 'iron-plate', quality = 'normal'}")));
  CHECK(refused(slot("{type = 'fluid', name = 'iron-plate', quality = 'normal'}")));
  CHECK(refused(slot("{type = 'asteroid-chunk', name = 'nauvis', quality = 'normal'}")));
  CHECK(refused(slot("{type = 'item', name = 'iron-plate', quality = 'shiny'}")));
  CHECK(refused(run("sim.set_circuit_input(storage.cc, {{{type = 'planet', name = 'nauvis'}, 1}})")));
  CHECK(sim.command("/sc rcon.print(prototypes.space_location['nauvis'].name .. ' ' .. table_size(prototypes.asteroid_chunk))") == "nauvis 0\n");
}

TEST_CASE("a bare item name is a full stack; circuit reads need a wire connector") {
  sim_process sim(world);
  sim.start();
  CHECK(sim.lua_int("inv().insert('iron-plate')") == 100);
  CHECK(sim.lua_int("inv().insert('copper-cable')") == 200);
  CHECK(sim.lua_int("inv().remove('iron-plate')") == 100);
  CHECK(sim.lua_int("inv().insert({name = 'iron-plate'})") == 1); // a definition's count is 1

  sim.command("/sc sim.set_circuit_input(storage.cc, {{'signal-A', 4}})");
  auto run = [&](const std::string& lua) { return sim.command("/sc try(function() " + lua + " end)"); };
  CHECK(refused(run("storage.cc.get_signals()")));
  CHECK(refused(run("storage.cc.get_signal({type = 'virtual', name = 'signal-A'})")));
  CHECK(sim.lua_int("storage.cc.get_signal({type = 'virtual', name = 'signal-A'}, defines.wire_connector_id.circuit_red)") == 4);
  CHECK(sim.lua_int("#storage.cc.get_signals(defines.wire_connector_id.circuit_red, defines.wire_connector_id.circuit_green)") == 1);
  CHECK(sim.command("/sc rcon.print(storage.cc.get_signals(defines.wire_connector_id.circuit_green) == nil)") == "true\n");
}

TEST_CASE("storage tanks joined by pipes share one fluid segment") {
  sim_process sim(world);
  sim.start();
  sim.command("/sc sim.connect_fluid(storage.a, storage.b)");
  CHECK(sim.lua_int("storage.a.fluidbox.get_capacity(1)") == 50000);
  CHECK(sim.lua_int("storage.a.fluidbox.get_prototype(1).volume") == 25000);
  CHECK(sim.lua_int("storage.a.insert_fluid({name = 'water', amount = 10000})") == 10000);
  CHECK(sim.lua_int("storage.b.fluidbox[1].amount") == 5000);
  CHECK(sim.lua_int("storage.a.insert_fluid({name = 'crude-oil', amount = 1})") == 0); // fluids do not mix
  CHECK(sim.lua_int("storage.b.remove_fluid({name = 'water', amount = 20000})") == 10000);
  CHECK(sim.command("/sc rcon.print(storage.a.fluidbox[1] == nil)") == "true\n");
  // A box holds no more than its own volume: writing more loses the excess.
  sim.command("/sc storage.a.fluidbox[1] = {name = 'water', amount = 40000}");
  CHECK(sim.lua_int("storage.a.get_fluid_count('water') + storage.b.get_fluid_count('water')") == 25000);
}

TEST_CASE("item stacks carry quality and state") {
  sim_process sim(world);
  sim.start();
  sim.command(R"(/sc inv().insert({name = "iron-plate", count = 3, quality = "rare"})
    inv().insert({name = "iron-plate", count = 2})
    inv().insert({name = "firearm-magazine", count = 5, ammo = 3})
    inv().insert({name = "firearm-magazine", count = 5})
    inv().insert({name = "steel-chest", health = 0.25})
    inv().insert({name = "repair-pack", durability = 100})
    inv().insert({name = "modular-armor"}))");
  CHECK(sim.lua_json("rcon.print(helpers.table_to_json(inv().get_contents()))") == nlohmann::json::parse(R"([
    {"count": 10, "name": "firearm-magazine", "quality": "normal"}, {"count": 2, "name": "iron-plate", "quality": "normal"},
    {"count": 3, "name": "iron-plate", "quality": "rare"}, {"count": 1, "name": "modular-armor", "quality": "normal"},
    {"count": 1, "name": "repair-pack", "quality": "normal"}, {"count": 1, "name": "steel-chest", "quality": "normal"}])"));
  // Stacks of another state do not merge: the magazines are two stacks of five.
  CHECK(sim.lua_int("(function() local n = 0 for i = 1, #inv() do if inv()[i].valid_for_read and "
                    "inv()[i].name == 'firearm-magazine' then n = n + 1 end end return n end)()") == 2);
  CHECK(sim.command("/sc rcon.print(first('iron-plate').quality.name)") == "rare\n");
  CHECK(sim.lua_int("first('firearm-magazine').ammo") == 3);
  CHECK(sim.command("/sc rcon.print(first('steel-chest').health)") == "0.25\n");
  CHECK(sim.lua_int("first('repair-pack').durability") == 100);
  CHECK(sim.command("/sc rcon.print(first('modular-armor').item_number ~= nil)") == "true\n");
  sim.command("/sc first('modular-armor').create_grid().put({name = 'solar-panel-equipment'})");
  CHECK(sim.lua_int("first('modular-armor').grid.count()") == 1);
  CHECK(sim.lua_int("first('iron-plate').spoil_percent") == 0);
  auto run = [&](const std::string& lua) { return sim.command("/sc try(function() " + lua + " end)"); };
  CHECK(refused(run("first('iron-plate').spoil_percent = 0.5"))); // iron does not spoil
  CHECK(refused(run("inv().insert({name = 'iron-plate', quality = 'mythic'})")));
  CHECK(refused(run("return first('iron-plate').ammo")));
}

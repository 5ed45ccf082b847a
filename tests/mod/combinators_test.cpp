// Issue 21, items 5 and 7 (and 8 for combinators): transmitters key signals by type, name and
// quality (a signal read without a type is an item); today's wire carries `[name, value]` for
// what a name alone identifies, and the rest is listed in `status`. Receivers and inventory
// combinators output any number of signals, 1,000 per section, and never write into a section
// that belongs to a logistic group.

#include "tests/sim/sim_process.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using clusterio::test::fast_ups;
using clusterio::test::sim_process;

namespace {

const char* world = R"(
script.on_init(function()
  local s = game.surfaces[1]
  local function make(name, x) return s.create_entity({name = name, position = {x, 0}, raise_built = true}) end
  storage.tx = make("transmitter-combinator", 0)
  storage.tx.combinator_description = "chan"
  storage.rx = make("receiver-combinator", 2)
  storage.rx.combinator_description = "chan"
  storage.inv = make("inventory-combinator", 4)
  storage.plain = make("constant-combinator", 6)
end)
-- Every filter a combinator outputs, over all its sections: {count, sections}.
function output(e)
  local cb = e.get_or_create_control_behavior()
  local n = 0
  for _, s in ipairs(cb.sections) do n = n + #s.filters end
  return n .. " " .. cb.sections_count
end
)";

/// A mod with `n` more virtual signals, to outgrow a section.
void add_signals(sim_process& sim, int n) {
  sim.write_mod("many_signals", json::object(), {
    {"data.lua", "local p = {} for i = 1, " + std::to_string(n) + " do p[i] = {type = 'virtual-signal', "
                 "name = 'many-' .. i, icon = '__many_signals__/icon.png'} end data:extend(p)"},
    {"icon.png", sim.icon_png()}});
}

} // namespace

TEST_CASE("transmitters key signals by type, name and quality, and list what the wire cannot carry") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.run_ticks(30);
  sim.command(R"(/sc sim.set_circuit_input(storage.tx, {
    {"iron-plate", 5}, {{type = "item", name = "iron-plate", quality = "rare"}, 3},
    {{type = "fluid", name = "water"}, 7}, {{type = "virtual", name = "signal-A"}, 2},
    {{type = "entity", name = "steel-chest"}, 4}, {{type = "recipe", name = "steel-chest"}, 6}}))");
  sim.run_ticks(30);
  auto sent = sim.ipc("signal");
  REQUIRE(!sent.empty());
  CHECK(sent.back()["signals"] == json::parse(R"([["iron-plate",5],["signal-A",2],["water",7]])"));
  CHECK(sim.call("status", json::object())["signals_not_sent"] == json::parse(R"([
    {"channel": "chan", "count": 3, "name": "iron-plate", "quality": "rare", "type": "item"},
    {"channel": "chan", "count": 4, "name": "steel-chest", "quality": "normal", "type": "entity"},
    {"channel": "chan", "count": 6, "name": "steel-chest", "quality": "normal", "type": "recipe"}])"));
  // Received signals come out as what their names are, of normal quality.
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w"}, {"signals", json::parse(R"([["iron-plate",4],["water",2]])")}});
  auto f = sim.lua_json("rcon.print(helpers.table_to_json(storage.rx.get_or_create_control_behavior().get_section(1).filters))");
  REQUIRE(f.size() == 2);
  CHECK(f[0]["value"].value("type", "item") == "item");
  CHECK(f[1]["value"]["type"] == "fluid");
  CHECK(f[1]["value"]["quality"] == "normal");
}

TEST_CASE("receivers output thousands of signals over several sections") {
  sim_process sim(world, fast_ups);
  add_signals(sim, 2500);
  sim.start();
  sim.run_ticks(70); // the receiver has been visited since its channel was named
  json many = json::array();
  for (int i = 1; i <= 2500; ++i)
    many.push_back({"many-" + std::to_string(i), i});
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w"}, {"signals", many}});
  CHECK(sim.command("/sc rcon.print(output(storage.rx))") == "2500 3\n");
  CHECK(sim.call("status", json::object())["signals_not_shown"] == 0);
  // Fewer again: the extra sections are emptied, not left showing old values.
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w"}, {"signals", json::parse(R"([["many-1",1]])")}});
  CHECK(sim.command("/sc rcon.print(output(storage.rx))") == "1 3\n");
  // The inventory combinator the same way.
  sim.call("set_inventory", {{"time_ms", 1700000000000.0}, {"full", true}, {"levels", many}});
  CHECK(sim.command("/sc rcon.print(output(storage.inv))") == "2501 3\n");
}

TEST_CASE("combinators never write into a section that belongs to a logistic group") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.run_ticks(70);
  // A player puts the receiver's section into a group that another combinator also uses.
  sim.command(R"(/sc local shared = storage.plain.get_or_create_control_behavior().get_section(1)
    shared.set_slot(1, {value = {type = "virtual", name = "signal-Z", quality = "normal"}, min = 9})
    shared.group = "shared"
    storage.rx.get_or_create_control_behavior().get_section(1).group = "shared")");
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w"}, {"signals", json::parse(R"([["signal-B",3]])")}});
  auto group = sim.lua_json("rcon.print(helpers.table_to_json(storage.plain.get_or_create_control_behavior().get_section(1).filters))");
  REQUIRE(group.size() == 1);
  CHECK(group[0]["value"]["name"] == "signal-Z");
  // The receiver's output went into a section of its own.
  auto own = sim.lua_json("rcon.print(helpers.table_to_json(storage.rx.get_or_create_control_behavior().get_section(2).filters))");
  REQUIRE(own.size() == 1);
  CHECK(own[0]["value"]["name"] == "signal-B");
  CHECK(own[0]["min"] == 3);
}

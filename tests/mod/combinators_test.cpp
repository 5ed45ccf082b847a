// Issue 21, items 5 and 7 (and 8 for combinators): transmitters send signals by type, name and
// quality (a signal read without a type is an item), and receivers output each as itself.
// Receivers and inventory combinators output any number of signals, 1,000 per section, and never
// write into a section that belongs to a logistic group. The mod tells the slave which channels
// its receivers use (issue 23, item 6).

#include "tests/sim/sim_process.hpp"
#include "tests/support/process.hpp"

#include <set>

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

/// A mod with `n` more items (so as many more item signals and levels), to outgrow a section.
void add_items(sim_process& sim, int n) {
  sim.write_mod("many_items", json::object(), {
    {"data.lua", "local p = {} for i = 1, " + std::to_string(n) + " do p[i] = {type = 'item', "
                 "name = 'many-' .. i, stack_size = 1, icon = '__many_items__/icon.png'} end data:extend(p)"},
    {"icon.png", sim.icon_png()}});
}

} // namespace

TEST_CASE("transmitters send every signal by type, name and quality; receivers output each as itself") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.run_ticks(30);
  sim.command(R"(/sc sim.set_circuit_input(storage.tx, {
    {"iron-plate", 5}, {{type = "item", name = "iron-plate", quality = "rare"}, 3},
    {{type = "fluid", name = "water"}, 7}, {{type = "virtual", name = "signal-A"}, 2},
    {{type = "entity", name = "steel-chest"}, 4}, {{type = "recipe", name = "steel-chest"}, 6},
    {{type = "quality", name = "rare"}, 8}, {{type = "space-location", name = "nauvis"}, 9}}))");
  sim.run_ticks(30);
  auto sent = sim.ipc("signal");
  REQUIRE(!sent.empty());
  // Sorted by (type, name, quality); the type only when not item or before a quality.
  CHECK(sent.back()["signals"] == json::parse(R"([["steel-chest",4,"entity"],["water",7,"fluid"],["iron-plate",5],
    ["iron-plate",3,"item","rare"],["rare",8,"quality"],["steel-chest",6,"recipe"],["nauvis",9,"space-location"],
    ["signal-A",2,"virtual"]])"));
  // Every signal goes: status has the documented keys only (docs/mod-interface.md), and none
  // about transmitter signals left behind.
  const json status = sim.call("status", json::object());
  std::set<std::string> status_keys;
  for (auto it = status.begin(); it != status.end(); ++it)
    status_keys.insert(it.key());
  CHECK(status_keys == std::set<std::string>{"tick", "players", "paused", "pending_exports", "buffered", "held_back", "signals_not_shown", "receivers"});

  // Received signals come out with their full id; what this world lacks is dropped.
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w"}, {"signals", json::parse(R"([["iron-plate",4],["iron-plate",1,"item","rare"],
    ["water",2,"fluid"],["signal-A",3,"virtual","epic"],["steel-chest",5,"entity"],["no-such-fluid",6,"fluid"],
    ["iron-plate",7,"item","no-such-quality"],["metallic-asteroid-chunk",8,"asteroid-chunk"]])")}});
  auto f = sim.lua_json("rcon.print(helpers.table_to_json(storage.rx.get_or_create_control_behavior().get_section(1).filters))");
  std::set<std::string> got;
  for (auto& x : f)
    got.insert(x["value"].value("type", "item") + "/" + x["value"]["name"].get<std::string>() + "/" +
               x["value"]["quality"].get<std::string>() + "=" + std::to_string(x["min"].get<int>()));
  CHECK(got == std::set<std::string>{"item/iron-plate/normal=4", "item/iron-plate/rare=1", "fluid/water/normal=2",
                                     "virtual/signal-A/epic=3", "entity/steel-chest/normal=5"});

  // The other spelling of an id is refused whole: the mod changes nothing.
  for (auto* bad : {R"([["iron-plate",1,"item"]])", R"([["water",1,"fluid","normal"]])", R"([["a",1,"item","rare",2]])"}) {
    auto reply = sim.call("receive_signals", {{"channel", "chan"}, {"source", "w"}, {"signals", json::parse(bad)}});
    CHECK(reply.contains("error"));
  }
  CHECK(sim.lua_json("rcon.print(helpers.table_to_json(storage.rx.get_or_create_control_behavior().get_section(1).filters))").size() == 5);
}

TEST_CASE("receivers output thousands of signals over several sections") {
  sim_process sim(world, fast_ups);
  add_items(sim, 2500);
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
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w"}, {"signals", json::parse(R"([["signal-B",3,"virtual"]])")}});
  auto group = sim.lua_json("rcon.print(helpers.table_to_json(storage.plain.get_or_create_control_behavior().get_section(1).filters))");
  REQUIRE(group.size() == 1);
  CHECK(group[0]["value"]["name"] == "signal-Z");
  // The receiver's output went into a section of its own.
  auto own = sim.lua_json("rcon.print(helpers.table_to_json(storage.rx.get_or_create_control_behavior().get_section(2).filters))");
  REQUIRE(own.size() == 1);
  CHECK(own[0]["value"]["name"] == "signal-B");
  CHECK(own[0]["min"] == 3);
}

TEST_CASE("the mod tells the slave the channels its receivers use, when they change and in every status reply") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.run_ticks(70);
  auto said = [&sim](const json& channels) {
    return clusterio::test::eventually([&] {
      auto r = sim.ipc("receivers");
      return !r.empty() && r.back()["channels"] == channels;
    }, std::chrono::seconds(10), std::chrono::milliseconds(50));
  };
  CHECK(said(json::array({"chan"})));
  CHECK(sim.call("status", json::object())["receivers"] == json::array({"chan"}));

  // A receiver on a new channel, one on a channel in use, and one on a name no channel can have
  // (nothing could ever arrive on it).
  sim.command(R"(/sc local s = game.surfaces[1]
    local function make(x, d)
      local e = s.create_entity({name = "receiver-combinator", position = {x, 2}, raise_built = true})
      e.combinator_description = d
      return e
    end
    storage.rx2 = make(0, "blue") make(2, "chan") make(4, "not a channel"))");
  sim.run_ticks(70);
  CHECK(said(json::array({"blue", "chan"})));
  auto announcements = sim.ipc("receivers").size();
  sim.run_ticks(130); // unchanged: not told again
  CHECK(sim.ipc("receivers").size() == announcements);

  // A receiver that is gone no longer counts.
  sim.command("/sc storage.rx2.destroy()");
  sim.run_ticks(70);
  CHECK(said(json::array({"chan"})));
  CHECK(sim.call("status", json::object())["receivers"] == json::array({"chan"}));
}

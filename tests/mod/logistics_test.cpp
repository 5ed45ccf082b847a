// Issue 21, items 6 and 8: tanks joined by pipes form one 2.0 fluid segment, and a get-tank
// never writes more than its own box holds while nothing granted is lost; put-tanks take whole
// units only from their own box. Get-chest requests honour each logistic section's multiplier,
// skip inactive sections, and count sections of a logistic group like any other.

#include "tests/sim/sim_process.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using clusterio::test::fast_ups;
using clusterio::test::sim_process;

namespace {

const char* tanks = R"(
script.on_init(function()
  local s = game.surfaces[1]
  local function make(name, x) return s.create_entity({name = name, position = {x, 0}, raise_built = true}) end
  storage.get = {make("get-tank", 0), make("get-tank", 4)}
  for _, t in ipairs(storage.get) do remote.call("clusterio_entities", "set_get_tank_fluid", t, "water") end
  sim.connect_fluid(storage.get[1], storage.get[2])
  storage.put = {make("put-tank", 10), make("put-tank", 14)}
  sim.connect_fluid(storage.put[1], storage.put[2])
end)
function amount(t) local f = t.fluidbox[1]; return f and f.amount or 0 end
)";

const char* chests = R"(
script.on_init(function()
  local chest = game.surfaces[1].create_entity({name = "get-chest", position = {0, 0}, raise_built = true})
  local sections = chest.get_logistic_sections()
  local doubled = sections.get_section(1)
  doubled.set_slot(1, {value = {type = "item", name = "iron-plate", quality = "normal"}, min = 50})
  doubled.multiplier = 2
  local off = sections.add_section()
  off.set_slot(1, {value = {type = "item", name = "copper-plate", quality = "normal"}, min = 30})
  off.active = false
  local grouped = sections.add_section("shared requests")
  grouped.set_slot(1, {value = {type = "item", name = "steel-plate", quality = "normal"}, min = 10})
  local half = sections.add_section()
  half.set_slot(1, {value = {type = "item", name = "coal", quality = "normal"}, min = 5})
  half.multiplier = 0.5
end)
)";

} // namespace

TEST_CASE("a get-tank in a fluid segment fills only its own box; the rest waits in the buffer") {
  sim_process sim(tanks, fast_ups);
  sim.start();
  sim.run_ticks(130);
  // Each tank asks for its own box (25,000), not the segment's capacity (50,000).
  CHECK(sim.ipc("request").back()["items"] == json::parse(R"([["water",50000]])"));
  CHECK(sim.lua_int("storage.get[1].fluidbox.get_capacity(1)") == 50000);

  auto r = sim.call("apply_grants", {{"grants", {{{"grant_id", 1}, {"name", "water"}, {"count", 60000}}}}});
  CHECK(r["results"][0]["status"] == "applied");
  auto in_tanks = [&] { return sim.lua_int("math.floor(amount(storage.get[1]) + amount(storage.get[2]) + 0.5)"); };
  auto buffered = [&] {
    auto b = sim.call("status", json::object())["buffered"]; // [] when empty
    return b.is_object() && b.contains("water") ? b["water"].value("normal", 0L) : 0L;
  };
  // Nothing granted is lost: what the tanks hold and the buffer add up to the grant.
  CHECK(in_tanks() + buffered() == 60000);
  CHECK(sim.lua_int("amount(storage.get[1])") <= 25000);
  CHECK(sim.lua_int("amount(storage.get[2])") <= 25000);
  // As the tanks are visited, the buffer fills them up to the segment's capacity (whole units:
  // a box whose share leaves less than one unit of room takes no more).
  sim.run_ticks(400);
  CHECK(in_tanks() + buffered() == 60000);
  CHECK(in_tanks() >= 49999);
}

TEST_CASE("put-tanks in a fluid segment send whole units from their own box") {
  sim_process sim(tanks, fast_ups);
  sim.start();
  sim.command("/sc storage.put[1].insert_fluid({name = 'water', amount = 30000.5})");
  sim.run_ticks(400);
  // The exact ledger, read in one command in the mod's own state: what the tanks hold, what was
  // taken this cycle, and every batch sent (none is acknowledged here).
  auto ledger = sim.lua_json(R"(__clusterio__ local left, sent, whole = 0, 0, true
    for _, t in ipairs(game.surfaces[1].find_entities_filtered({name = "put-tank"})) do
      local f = t.fluidbox[1]
      left = left + (f and f.amount or 0)
    end
    for _, b in pairs(storage.batches) do
      sent = sent + (b.water or 0)
      whole = whole and (b.water or 0) % 1 == 0
    end
    rcon.print(helpers.table_to_json({left = left, open = storage.open.water or 0, sent = sent, whole = whole})))");
  double left = ledger["left"].get<double>();
  CHECK(ledger["whole"] == true);
  CHECK(left + ledger["open"].get<double>() + ledger["sent"].get<double>() == Approx(30000.5));
  CHECK(ledger["sent"].get<double>() >= 29990);
  // The half never leaves: taking it would need a fraction.
  CHECK(left - std::floor(left) == Approx(0.5));
}

TEST_CASE("get-chests honour section multipliers and skip inactive sections") {
  sim_process sim(chests, fast_ups);
  sim.start();
  sim.run_ticks(130);
  auto requests = sim.ipc("request");
  REQUIRE(!requests.empty());
  // iron 50 x 2; copper's section is off; steel's section is in a group; coal 5 x 0.5, rounded down.
  CHECK(requests.back()["items"] == json::parse(R"([["coal",2],["iron-plate",100],["steel-plate",10]])"));
}

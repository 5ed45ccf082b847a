// The real clusterio mod running in factorio-sim, driven through its remote interface exactly as
// the slave drives it: exports, requests, grant splitting and dedup, pausing, the filter setting,
// combinators, save/load, and hostile names.

#include "tests/sim/sim_process.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

using nlohmann::json;
using clusterio::test::fast_ups;
using clusterio::test::sim_process;

namespace {

const char* world = R"(
script.on_init(function()
  local s = game.surfaces[1]
  local function make(name, x) return s.create_entity({name = name, position = {x, 0}, force = "player", raise_built = true}) end
  storage.put = {make("put-chest", 0), make("put-chest", 2)}
  storage.get = {make("get-chest", 4), make("get-chest", 6)}
  for _, c in ipairs(storage.get) do
    c.get_logistic_sections().get_section(1).set_slot(1, {value = "iron-plate", min = 100})
  end
  storage.get_tank = make("get-tank", 8)
  remote.call("clusterio_entities", "set_get_tank_fluid", storage.get_tank, "water")
  storage.tx = make("transmitter-combinator", 10)
  storage.tx.combinator_description = "chan"
  storage.rx = make("receiver-combinator", 12)
  storage.rx.combinator_description = "chan"
  storage.inv = make("inventory-combinator", 14)
end)
)";

std::string grant_status(const json& reply, size_t i) { return reply["results"][i]["status"]; }

} // namespace

TEST_CASE("exports are numbered batches kept until acknowledged, and survive a restart") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.call("set_batch_floor", {{"next_batch", 100}});
  sim.command("/sc for _, c in ipairs(storage.put) do c.get_inventory(defines.inventory.chest).insert({name='iron-plate', count=10}) end");
  sim.run_ticks(130);
  auto exports = sim.ipc("export");
  REQUIRE(exports.size() == 1);
  CHECK(exports[0]["batch"] == 100);
  CHECK(exports[0]["items"] == json::parse(R"([["iron-plate",20]])"));
  CHECK(sim.lua_int("storage.put[1].get_inventory(1).get_item_count('iron-plate')") == 0);
  auto pending = sim.call("pending_exports", json::object());
  REQUIRE(pending["batches"].size() == 1);
  CHECK(pending["floor"] == 100);
  // Lowering the floor never lowers the counter.
  CHECK(sim.call("set_batch_floor", {{"next_batch", 5}})["next_batch"] == 101);

  CHECK(sim.stop() == 0);
  sim.start();
  pending = sim.call("pending_exports", json::object());
  REQUIRE(pending["batches"].size() == 1);
  CHECK(pending["batches"][0]["batch"] == 100);
  CHECK(sim.call("ack_exports", {{"batches", {100, 7}}})["dropped"] == json::parse("[100]"));
  CHECK(sim.call("pending_exports", json::object())["batches"].empty());
  CHECK(sim.call("pending_exports", json::object())["floor"] == 101);
}

TEST_CASE("a save from before qualities and full-id signals carries over") {
  sim_process sim(world, fast_ups);
  sim.start();
  // Storage as mod 0.3.0 left it: items keyed by bare names (normal quality keeps that key),
  // schema 2, received frames keyed by signal name, the list of signals it could not send.
  sim.command("/sc __clusterio__ storage.schema = 2; storage.batches[7] = {['iron-plate'] = 10}; "
              "storage.buffer['copper-plate'] = 5; storage.tx_unsent = {chan = {['item/rare/x'] = 1}}; "
              "storage.rx_frames = {chan = {['old/source'] = {['iron-plate'] = 3}}}");
  CHECK(sim.stop() == 0);
  sim.start();
  auto pending = sim.call("pending_exports", json::object());
  REQUIRE(pending["batches"].size() == 1);
  CHECK(pending["batches"][0]["batch"] == 7);
  CHECK(pending["batches"][0]["items"] == json::parse(R"([["iron-plate",10]])"));
  CHECK(sim.call("status", json::object())["buffered"]["copper-plate"] == json::parse(R"({"normal":5})"));
  CHECK(sim.command("/sc __clusterio__ rcon.print(storage.schema)") == "3\n");
  CHECK(sim.command("/sc __clusterio__ rcon.print(tostring(storage.tx_unsent))") == "nil\n");
  CHECK(sim.command("/sc __clusterio__ rcon.print(tostring(next(storage.rx_frames)))") == "nil\n");
}

TEST_CASE("requests, proportional splitting, dedup, cancel and the buffer") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.command("/sc storage.get[1].get_inventory(1).insert({name='iron-plate', count=50})");
  sim.run_ticks(130);
  auto requests = sim.ipc("request");
  REQUIRE(!requests.empty());
  json last = requests.back()["items"];
  CHECK(last == json::parse(R"([["iron-plate",150],["water",25000]])"));
  CHECK(requests.back()["applied"] == 0); // grants applied when the report was made

  // Chest 1 misses 50, chest 2 misses 100: 30 splits 10 / 20.
  auto r = sim.call("apply_grants", {{"grants", {{{"grant_id", 1}, {"name", "iron-plate"}, {"count", 30}}}}});
  CHECK(grant_status(r, 0) == "applied");
  CHECK(r["applied"] == 1);
  CHECK(sim.lua_int("storage.get[1].get_inventory(1).get_item_count('iron-plate')") == 60);
  CHECK(sim.lua_int("storage.get[2].get_inventory(1).get_item_count('iron-plate')") == 20);
  r = sim.call("apply_grants", {{"grants", {{{"grant_id", 1}, {"name", "iron-plate"}, {"count", 30}}}}});
  CHECK(grant_status(r, 0) == "duplicate");
  CHECK(r["applied"] == 1); // a duplicate applies nothing
  CHECK(sim.lua_int("storage.get[2].get_inventory(1).get_item_count('iron-plate')") == 20);

  r = sim.call("cancel_grants", {{"grant_ids", {1, 2}}});
  CHECK(grant_status(r, 0) == "applied");
  CHECK(grant_status(r, 1) == "cancelled");
  r = sim.call("apply_grants", {{"grants", {{{"grant_id", 2}, {"name", "iron-plate"}, {"count", 5}}}}});
  CHECK(grant_status(r, 0) == "cancelled");
  CHECK(sim.call("forget_grants", {{"grant_ids", {1, 2, 3}}})["forgotten"] == 2);

  // More than fits: both chests fill up, the rest waits in the buffer; nothing is lost.
  r = sim.call("apply_grants", {{"grants", {{{"grant_id", "big"}, {"name", "iron-plate"}, {"count", 1000}},
                                            {{"grant_id", 9}, {"name", "water"}, {"count", 500}},
                                            {{"grant_id", 10}, {"name", "no-such-item"}, {"count", 1}},
                                            {{"grant_id", 11}, {"name", "iron-plate"}, {"count", -3}}}}});
  CHECK(grant_status(r, 0) == "applied");
  CHECK(grant_status(r, 1) == "applied");
  CHECK(grant_status(r, 2) == "rejected");
  CHECK(grant_status(r, 3) == "rejected");
  CHECK(sim.lua_int("storage.get[1].get_inventory(1).get_item_count('iron-plate')") == 100);
  CHECK(sim.lua_int("storage.get[2].get_inventory(1).get_item_count('iron-plate')") == 100);
  CHECK(sim.lua_int("storage.get_tank.fluidbox[1].amount") == 500);
  CHECK(sim.call("status", json::object())["buffered"]["iron-plate"]["normal"] == 880);
  // The buffer refills chests as they drain.
  sim.command("/sc storage.get[1].get_inventory(1).remove({name='iron-plate', count=40})");
  sim.run_ticks(70);
  CHECK(sim.lua_int("storage.get[1].get_inventory(1).get_item_count('iron-plate')") == 100);
  CHECK(sim.call("status", json::object())["buffered"]["iron-plate"]["normal"] == 840);
}

TEST_CASE("a grant that lands mid-cycle is not asked for again at the cycle's end") {
  // The slave asks for items newly in stock at once, so grants land at any tick of the mod's
  // cycle: a chest visited earlier in the cycle must not still be reported missing.
  sim_process sim(world, fast_ups);
  sim.start();
  for (int round = 0; round < 4; ++round) {
    sim.command("/sc for _, c in ipairs(storage.get) do c.get_inventory(1).clear() end");
    sim.run_ticks(130); // both chests seen missing 100 each
    // The grant fills both chests; the marker, printed by the same command, orders stdout.
    auto marker = "grant-applied-" + std::to_string(round);
    auto grant = json{{"grants", {{{"grant_id", 100 + round}, {"name", "iron-plate"}, {"count", 200}}}}};
    sim.command("/sc print('" + marker + "') remote.call('clusterio', 'apply_grants', [[" + grant.dump() + "]])");
    CHECK(sim.lua_int("storage.get[1].get_inventory(1).get_item_count('iron-plate') + "
                         "storage.get[2].get_inventory(1).get_item_count('iron-plate')") == 200);
    sim.run_ticks(130);
    auto lines = sim.lines();
    auto at = std::find(lines.begin(), lines.end(), marker);
    REQUIRE(at != lines.end());
    int requests_after = 0;
    for (auto it = at; it != lines.end(); ++it) {
      if (it->rfind("\f$ipc:request?j", 0) != 0)
        continue;
      ++requests_after;
      INFO("round " << round << ": " << *it);
      CHECK(it->find("iron-plate") == std::string::npos);
    }
    CHECK(requests_after >= 2); // water is still missing: the cycles went on reporting
  }
}

TEST_CASE("transfers pause while the slave is silent and nothing is lost") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.run_ticks(10);
  // Silence: no remote calls for over 300 ticks (plain /sc does not count as a call).
  auto silent_for = [&] { return sim.lua_int("game.tick - remote.call('clusterio_test_probe', 'last_call')"); };
  sim.command("/sc __clusterio__ remote.add_interface('clusterio_test_probe', {last_call = function() return storage.last_call end})");
  for (int i = 0; i < 300 && silent_for() <= 300; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(silent_for() > 300);
  sim.command("/sc storage.put[1].get_inventory(1).insert({name='copper-plate', count=7})");
  int t0 = sim.lua_int("game.tick");
  for (int i = 0; i < 300 && sim.lua_int("game.tick") < t0 + 150; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(sim.lua_int("storage.put[1].get_inventory(1).get_item_count('copper-plate')") == 7);
  CHECK(sim.ipc("export").empty());
  CHECK(sim.call("status", json::object())["paused"] == false); // the call itself is a ping
  sim.run_ticks(130);
  auto exports = sim.ipc("export");
  REQUIRE(exports.size() == 1);
  CHECK(exports[0]["items"] == json::parse(R"([["copper-plate",7]])"));
}

TEST_CASE("the blacklist keeps items in the world") {
  sim_process sim(world, fast_ups);
  sim.start();
  sim.command("/sc settings.global['clusterio-filter-list'] = {value = 'copper-plate, water'}");
  sim.command("/sc settings.global['clusterio-filter-mode'] = {value = 'blacklist'}");
  sim.command("/sc storage.put[1].get_inventory(1).insert({name='copper-plate', count=5}) storage.put[1].get_inventory(1).insert({name='iron-plate', count=6})");
  sim.run_ticks(130);
  auto exports = sim.ipc("export");
  REQUIRE(exports.size() == 1);
  CHECK(exports[0]["items"] == json::parse(R"([["iron-plate",6]])"));
  CHECK(sim.lua_int("storage.put[1].get_inventory(1).get_item_count('copper-plate')") == 5);
  for (auto& req : sim.ipc("request"))
    for (auto& it : req["items"])
      CHECK(it[0] != "water");
}

TEST_CASE("transmitters, receivers and the inventory combinator") {
  sim_process sim(world, fast_ups);
  sim.start();
  // The game ticks from its start: let the mod see the transmitter with no input first (it sends
  // the empty sum once), so that when the input is set does not race the first visit.
  sim.run_ticks(30);
  auto sig = sim.ipc("signal");
  REQUIRE(sig.size() == 1);
  CHECK(sig[0]["channel"] == "chan");
  CHECK(sig[0]["signals"] == json::array());
  sim.command("/sc sim.set_circuit_input(storage.tx, {{'signal-A', 5}, {'iron-plate', 2}})");
  sim.run_ticks(30);
  sig = sim.ipc("signal");
  REQUIRE(sig.size() == 2);
  CHECK(sig[1]["channel"] == "chan");
  CHECK(sig[1]["signals"] == json::parse(R"([["iron-plate",2],["signal-A",5,"virtual"]])"));
  sim.run_ticks(30);
  CHECK(sim.ipc("signal").size() == 2); // unchanged signals are not resent

  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w1"}, {"signals", json::parse(R"([["signal-B",3,"virtual"],["iron-plate",1]])")}});
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w2"}, {"signals", json::parse(R"([["signal-B",4,"virtual"],["bogus-signal",1,"virtual"]])")}});
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w1"}, {"signals", json::parse(R"([["signal-B",10,"virtual"]])")}});
  std::string read_rx = "rcon.print(helpers.table_to_json(storage.rx.get_or_create_control_behavior().get_section(1).filters))";
  auto f = sim.lua_json(read_rx);
  REQUIRE(f.size() == 1);
  CHECK(f[0]["value"]["name"] == "signal-B");
  CHECK(f[0]["min"] == 14);
  sim.call("receive_signals", {{"channel", "chan"}, {"source", "w1"}, {"signals", json::array()}});
  CHECK(sim.lua_json(read_rx)[0]["min"] == 4);

  sim.call("set_inventory", {{"time_ms", 1700000000000.0}, {"full", true}, {"levels", json::parse(R"([["iron-plate",1234]])")}});
  auto inv = sim.lua_json("rcon.print(helpers.table_to_json(storage.inv.get_or_create_control_behavior().get_section(1).filters))");
  REQUIRE(inv.size() == 2);
  CHECK(inv[0]["value"]["name"] == "iron-plate");
  CHECK(inv[0]["min"] == 1234);
  CHECK(inv[1]["value"]["name"] == "signal-unixtime");
  CHECK(inv[1]["min"] == 1700000000);
}

TEST_CASE("hostile names are data, never code") {
  sim_process sim(world, fast_ups);
  sim.start();
  const std::vector<std::string> names{
      "\"); storage.pwned = true; --", "]]..error('pwned')..[[", "a\nb", "x'y\"z\\",
      "iron-plate\")) storage.pwned=true ((\"", "[[", "\\\"", std::string("\0evil", 5)};
  for (auto& n : names) {
    auto r = sim.call("apply_grants", {{"grants", {{{"grant_id", 77}, {"name", n}, {"count", 1}}}}});
    CHECK(grant_status(r, 0) == "rejected");
    auto s = sim.call("receive_signals", {{"channel", n}, {"source", n}, {"signals", json::array({json::array({n, 1})})}});
    CHECK(s["ok"] == true);
  }
  CHECK(sim.call("apply_grants", json::parse(R"({"grants": "nope"})")).contains("error"));
  CHECK(sim.command("/sc remote.call('clusterio','ping','not json')").find("error") != std::string::npos);
  CHECK(sim.command("/sc __clusterio__ rcon.print(tostring(storage.pwned))") == "nil\n");
  CHECK(sim.command("/sc rcon.print(tostring(storage.pwned))") == "nil\n");
}

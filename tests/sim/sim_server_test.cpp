// factorio-sim as the slave sees it: start-up lines, RCON behaviour (through the project's own
// C++ client), Lua commands, save and load.

#include "tests/sim/sim_process.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace clusterio;
using clusterio::test::sim_process;

namespace {
bool has(const std::string& l, const char* s) { return l.find(s) != std::string::npos; }
} // namespace

TEST_CASE("start-up lines come in Factorio's order and RCON starts after InGame") {
  sim_process sim("producer", {"--ups", "120", "--not-a-real-flag"});
  sim.start();
  auto lines = sim.lines();
  auto index_of = [&](const char* s) {
    for (size_t i = 0; i < lines.size(); ++i)
      if (has(lines[i], s))
        return static_cast<long>(i);
    return -1L;
  };
  CHECK(index_of("unknown argument: --not-a-real-flag") >= 0);
  // No map yet: Factorio prints the largest uint64_t as the tick.
  CHECK(index_of("updateTick(18446744073709551615) changing state from(Ready) to(PreparedToHostGame)")
        >= 0);
  long hosting = index_of("Hosting game at IP ADDR:({0.0.0.0:");
  long ingame = index_of("changing state from(CreatingGame) to(InGame)");
  long rcon = index_of("Starting RCON interface at IP ADDR:({0.0.0.0:");
  REQUIRE(hosting >= 0);
  CHECK(hosting < ingame);
  CHECK(ingame < rcon);
  CHECK(sim.stop() == 0);
  auto after = sim.lines();
  bool saved = false, bye = false;
  for (auto& l : after) {
    saved |= has(l, "Saving progress: 100.000000%");
    bye |= has(l, "Goodbye");
  }
  CHECK(saved);
  CHECK(bye);
}

TEST_CASE("--rcon-bind puts RCON on one address, as the slave asks for loopback") {
  sim_process sim("producer");
  sim.rcon_bind_address = "127.0.0.1";
  sim.start();
  auto line = sim.wait_line([](const std::string& l) { return has(l, "Starting RCON interface"); });
  CHECK(has(line, ("IP ADDR:({127.0.0.1:" + std::to_string(sim.rcon_port()) + "})").c_str()));
  CHECK(sim.command("/c rcon.print(1 + 1)") == "2\n");
  CHECK(sim.stop() == 0);

  sim_process bad("producer");
  bad.rcon_bind_address = "not-an-address";
  CHECK_THROWS(bad.start());
  CHECK(!bad.wait_line([](const std::string& l) { return has(l, "Can't bind socket: 'not-an-address' is not an IPv4 address"); }).empty());
}

TEST_CASE("RCON: one reply per command, Lua errors, large replies, wrong password") {
  sim_process sim("producer", {"--ups", "120"});
  sim.start();
  CHECK(sim.command("/sc rcon.print('a') rcon.print('b')") == "a\nb\n");
  CHECK(sim.command("/sc local x = 1") == "");
  CHECK(sim.command("/sc error('boom')").rfind("Cannot execute command. Error:", 0) == 0);
  CHECK(sim.command("hello chat") == "");
  // 100 kB in one reply: Factorio never splits.
  auto big = sim.command("/sc rcon.print(string.rep('x', 100000))");
  CHECK(big.size() == 100001);
  // Several commands in flight on one connection, matched by id.
  std::vector<std::future<rcon::reply>> futs;
  for (int i = 0; i < 20; ++i)
    futs.push_back(sim.rcon().send("/sc rcon.print(" + std::to_string(i) + ")"));
  for (int i = 0; i < 20; ++i) {
    auto r = futs[static_cast<size_t>(i)].get();
    REQUIRE(r.ok());
    CHECK(*r == std::to_string(i) + "\n");
  }
  // An empty command is refused locally: Factorio would never answer it.
  CHECK_FALSE(sim.rcon().send("").get().ok());

  rcon::client_options o;
  o.port = sim.rcon_port();
  o.password = "wrong";
  rcon::client bad(o);
  auto connected = bad.connect();
  REQUIRE_FALSE(connected.ok());
  CHECK(has(connected.why(), "authentication failed"));

  // Reconnect after the client closed.
  sim.rcon().close();
  CHECK_FALSE(sim.rcon().send("/sc rcon.print(1)").get().ok());
  REQUIRE(sim.rcon().connect().ok());
  CHECK(sim.command("/sc rcon.print(2)") == "2\n");
  CHECK(sim.stop() == 0);
}

TEST_CASE("the world survives save and load") {
  sim_process sim("producer", {"--ups", "300"});
  sim.start();
  sim.command("/sc storage.marker = {a = 1, [5] = 'five', nested = {true}}");
  std::string q = "/sc rcon.print(helpers.table_to_json({tick = game.tick, marker = storage.marker, "
                  "n = #game.surfaces[1].find_entities_filtered({name = 'put-chest'})}))";
  auto before = nlohmann::json::parse(sim.command(q));
  CHECK(sim.stop() == 0); // SIGINT saves
  sim.start();
  auto after = nlohmann::json::parse(sim.command(q));
  CHECK(after["tick"].get<int>() >= before["tick"].get<int>());
  CHECK(after["marker"] == before["marker"]);
  CHECK(after["n"] == 4);
  // /save and /quit.
  sim.command("/save manual");
  CHECK(std::filesystem::exists(sim.dir() + "/saves/manual.zip"));
  sim.command("/quit");
  CHECK(!sim.wait_line([](const std::string& l) { return has(l, "Quitting: remote-quit."); }).empty());
  CHECK(sim.stop() == 0);
}

TEST_CASE("of several versions of one mod, the newest is loaded, or the one mod-list.json pins") {
  // An upgrade that leaves the old zip beside the new one must not run both (two mods with one
  // name would register the same remote interface twice): Factorio loads one.
  sim_process sim("producer", {"--ups", "300"});
  for (std::string version : {"1.9.0", "1.10.0"}) {
    auto dir = sim.dir() + "/mods/pinme_" + version;
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/info.json") << R"({"name": "pinme", "version": ")" << version << R"(", "factorio_version": "2.0"})";
    std::ofstream(dir + "/control.lua") << "remote.add_interface('pinme', {version = function() return '" << version << "' end})\n";
  }
  std::string q = "/sc rcon.print(remote.call('pinme', 'version') .. ' ' .. script.active_mods.pinme)";
  sim.start();
  CHECK(sim.command(q) == "1.10.0 1.10.0\n"); // by number, not as text ("1.9.0" > "1.10.0")
  CHECK(sim.stop() == 0);

  std::ofstream(sim.dir() + "/mods/mod-list.json") << R"({"mods": [{"name": "base", "enabled": true},
    {"name": "pinme", "enabled": true, "version": "1.9.0"}]})";
  sim.start();
  CHECK(sim.command(q) == "1.9.0 1.9.0\n");
  CHECK(sim.stop() == 0);
}

TEST_CASE("helpers' JSON functions refuse nesting too deep, and a table that contains itself, in ways a script can handle") {
  sim_process sim("producer", {"--ups", "120"});
  sim.start();
  auto pcall = [&](const std::string& call) {
    return sim.command("/sc local ok, r = pcall(" + call + ") rcon.print(tostring(ok) .. ' ' .. tostring(r))");
  };
  // Too deep to read: nil, as for text that is not JSON.
  CHECK(pcall("helpers.json_to_table, string.rep('[', 1000) .. string.rep(']', 1000)") == "true nil\n");
  CHECK(pcall("helpers.json_to_table, string.rep('{\"a\":', 100000)") == "true nil\n");
  // As deep as allowed: read.
  CHECK(sim.command("/sc local t = helpers.json_to_table(string.rep('[', 512) .. string.rep(']', 512)) local d = 0 "
                    "while t do d = d + 1 t = t[1] end rcon.print(d)") == "512\n");
  // A table that contains itself, or one nested too deep: an error that pcall catches.
  auto cycle = pcall("helpers.table_to_json, (function() local t = {} t.me = t return t end)()");
  CHECK(cycle.rfind("false ", 0) == 0);
  CHECK(cycle.find("table_to_json: nesting deeper than 512 tables") != std::string::npos);
  auto deep = pcall("helpers.table_to_json, (function() local t = {} for _ = 1, 1000 do t = {t} end return t end)()");
  CHECK(deep.rfind("false ", 0) == 0);
  CHECK(deep.find("nesting deeper than 512") != std::string::npos);
  CHECK(sim.command("/sc local t = {} for _ = 1, 511 do t = {t} end rcon.print(#helpers.table_to_json(t))") == "1024\n");
  // And the game runs on.
  CHECK(sim.command("/sc rcon.print(helpers.table_to_json({a = {1, 2}}))") == "{\"a\":[1,2]}\n");
  CHECK(sim.stop() == 0);
}

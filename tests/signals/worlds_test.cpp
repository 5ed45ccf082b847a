// Circuit signals between real factorio-sim worlds through real slaves and a real master, the
// inventory combinator, and the Python tool talking to worlds. A slave takes from the bus only
// the channels its worlds' receivers use (issue 23, item 6).

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <thread>

#include "common/clock.hpp"
#include "tests/master/helpers.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/signal_lists.hpp"
#include "tests/support/slave_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct worlds {
  master_fixture master;
  std::unique_ptr<slave_fixture> a, b;

  worlds() {
    master.start();
    a = std::make_unique<slave_fixture>("sig-a", master, master.add_client("sig-a", "slave"));
    b = std::make_unique<slave_fixture>("sig-b", master, master.add_client("sig-b", "slave"));
    a->create("tx1", "");
    a->create("tx2", "");
    b->create("rx", "");
    for (auto* w : {"tx1", "tx2"})
      a->start(w);
    b->start("rx");
    a->wait_running("tx1");
    a->wait_running("tx2");
    b->wait_running("rx");
    for (auto* w : {"tx1", "tx2"})
      a->lua(w, "storage.tx = game.surfaces[1].create_entity{name = 'transmitter-combinator', position = {0, 0}, force = 'player', "
                "raise_built = true} storage.tx.combinator_description = 'ch1' rcon.print('ok')");
    b->lua("rx", "storage.rx = game.surfaces[1].create_entity{name = 'receiver-combinator', position = {0, 0}, force = 'player', "
                 "raise_built = true} storage.rx.combinator_description = 'ch1' "
                 "storage.inv = game.surfaces[1].create_entity{name = 'inventory-combinator', position = {2, 0}, force = 'player', "
                 "raise_built = true} rcon.print('ok')");
  }

  /// What a combinator in world rx (or another) outputs, by signal name (whatever its type and quality).
  std::map<std::string, std::int64_t> output(const std::string& entity, const std::string& world = "rx") {
    auto& s = world == "rx" ? *b : *a;
    auto filters = json::parse(
      s.lua(world, "rcon.print(helpers.table_to_json(storage." + entity + ".get_or_create_control_behavior().get_section(1).filters))"));
    std::map<std::string, std::int64_t> out;
    for (auto& f : filters)
      out[f["value"]["name"]] = f["min"];
    return out;
  }

  /// Whether the mod of world rx was ever given a frame on `channel` (its own `storage`, not the level's).
  bool received_any(const std::string& channel) {
    return b->lua("rx", "__clusterio__ rcon.print(storage.rx_frames['" + channel + "'] == nil and 'none' or 'some')") == "some";
  }

  /// Makes a receiver on `channel` in a world, as storage.<name>.
  void add_receiver(slave_fixture& s, const std::string& world, const std::string& name, const std::string& channel) {
    s.lua(world, "storage." + name + " = game.surfaces[1].create_entity{name = 'receiver-combinator', position = {6, 0}, force = 'player', "
                 "raise_built = true} storage." + name + ".combinator_description = '" + channel + "' rcon.print('ok')");
  }

  /// What the receiver in world rx outputs, by full id: "type/name/quality" -> value.
  std::map<std::string, std::int64_t> output_ids() {
    auto filters = json::parse(
      b->lua("rx", "rcon.print(helpers.table_to_json(storage.rx.get_or_create_control_behavior().get_section(1).filters))"));
    std::map<std::string, std::int64_t> out;
    for (auto& f : filters) {
      auto& v = f["value"];
      out[v.value("type", "item") + "/" + v["name"].get<std::string>() + "/" + v.value("quality", "normal")] = f["min"];
    }
    return out;
  }

  std::uint64_t tick(slave_fixture& s, const std::string& w) { return std::stoull(s.lua(w, "rcon.print(game.tick)")); }

  /// Waits until the receiver outputs exactly `want`; returns the ticks it took in world rx.
  std::uint64_t wait_output(const std::map<std::string, std::int64_t>& want, int timeout_ms = 10000) {
    auto start = tick(*b, "rx");
    for (int waited = 0; waited < timeout_ms; waited += 100) {
      if (output("rx") == want)
        return tick(*b, "rx") - start;
      std::this_thread::sleep_for(100ms);
    }
    INFO("receiver outputs " << json(output("rx")).dump());
    FAIL("the receiver did not output " << json(want).dump());
    return 0;
  }
};

} // namespace

TEST_CASE("signals: a receiver in another world outputs the transmitters' sum; removing one removes it") {
  worlds w;
  w.a->lua("tx1", "sim.set_circuit_input(storage.tx, {{'signal-A', 5}, {'iron-plate', 2}}) rcon.print('ok')");
  // Within a bounded number of ticks: the transmitter's slice (10 ticks), the slave, the master
  // and the receiving slave's RCON call.
  CHECK(w.wait_output({{"signal-A", 5}, {"iron-plate", 2}}) <= 120);

  w.a->lua("tx2", "sim.set_circuit_input(storage.tx, {{'signal-A', 3}, {'signal-B', 1}}) rcon.print('ok')");
  CHECK(w.wait_output({{"signal-A", 8}, {"iron-plate", 2}, {"signal-B", 1}}) <= 120);

  w.a->lua("tx2", "storage.tx.destroy{raise_destroy = true} rcon.print('ok')");
  CHECK(w.wait_output({{"signal-A", 5}, {"iron-plate", 2}}) <= 120);
}

TEST_CASE("signals keep their type and quality between worlds: a virtual and a rare item signal, apart from normal") {
  worlds w;
  w.a->lua("tx1", "sim.set_circuit_input(storage.tx, {{{type = 'virtual', name = 'signal-A'}, 5}, "
                  "{{type = 'item', name = 'iron-plate', quality = 'rare'}, 3}, {'iron-plate', 2}, "
                  "{{type = 'fluid', name = 'water'}, 9}}) rcon.print('ok')");
  std::map<std::string, std::int64_t> want{
    {"virtual/signal-A/normal", 5}, {"item/iron-plate/rare", 3}, {"item/iron-plate/normal", 2}, {"fluid/water/normal", 9}};
  std::map<std::string, std::int64_t> got;
  for (int waited = 0; waited < 10000 && (got = w.output_ids()) != want; waited += 100)
    std::this_thread::sleep_for(100ms);
  INFO("receiver outputs " << json(got).dump());
  CHECK(got == want);

  // Another world adds to the same ids, and only to them.
  w.a->lua("tx2", "sim.set_circuit_input(storage.tx, {{{type = 'item', name = 'iron-plate', quality = 'rare'}, 4}, "
                  "{{type = 'virtual', name = 'signal-A', quality = 'legendary'}, 6}}) rcon.print('ok')");
  want["item/iron-plate/rare"] = 7;
  want["virtual/signal-A/legendary"] = 6;
  for (int waited = 0; waited < 10000 && (got = w.output_ids()) != want; waited += 100)
    std::this_thread::sleep_for(100ms);
  INFO("receiver outputs " << json(got).dump());
  CHECK(got == want);
}

TEST_CASE("the inventory combinator shows storage levels and signal-unixtime, updated every second") {
  worlds w;
  w.a->lua("tx1", "local c = game.surfaces[1].create_entity{name = 'put-chest', position = {4, 0}, force = 'player', raise_built = true} "
                  "c.get_inventory(defines.inventory.chest).insert{name = 'iron-plate', count = 42} rcon.print('ok')");
  std::map<std::string, std::int64_t> out;
  eventually([&] { return (out = w.output("inv"))["iron-plate"] == 42; }, 10s, 100ms);
  CHECK(out["iron-plate"] == 42);
  auto first = out["signal-unixtime"];
  CHECK(std::llabs(first - static_cast<std::int64_t>(epoch_ms() / 1000)) <= 2);
  std::this_thread::sleep_for(2200ms);
  CHECK(w.output("inv")["signal-unixtime"] >= first + 1); // refreshed at least once a second
}

TEST_CASE("the Python tool watches a world's signals and publishes a frame a receiver outputs") {
  worlds w;
  auto tool = w.master.add_client("pytool", "publisher");
  auto cred = w.master.data_dir() + "/pytool.cred.json";
  auto run_tool = [&](std::vector<std::string> args, const std::string& log) {
    std::vector<std::string> argv{"/usr/bin/python3", source_dir() + "/examples/signals.py", "--credential", cred, "--master",
                                  w.master.control_endpoint(), "--bus", w.master.bus_endpoint()};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<child_process>(argv, log);
  };
  (void)tool;
  auto watch_log = w.master.data_dir() + "/watch.log";
  // Watching until stopped: tx2 shares the channel, and its frames (or the current ones, which
  // a new subscription is sent first) may come before tx1's.
  auto watcher = run_tool({"watch", "ch1"}, watch_log);
  std::this_thread::sleep_for(1500ms); // subscribed
  w.a->lua("tx1", "sim.set_circuit_input(storage.tx, {{'signal-C', 77}}) rcon.print('ok')");
  for (int waited = 0; waited < 15000 && slurp(watch_log).find("signal-C=77:virtual") == std::string::npos; waited += 100)
    std::this_thread::sleep_for(100ms);
  CHECK(slurp(watch_log).find("signal-C=77:virtual") != std::string::npos);
  watcher->signal(SIGTERM);
  CHECK(watcher->wait(5000) == 0);

  auto sender = run_tool({"send", "ch1", "signal-D=9:virtual"}, w.master.data_dir() + "/send.log");
  CHECK(sender->wait(15000) == 0);
  CHECK(w.wait_output({{"signal-C", 77}, {"signal-D", 9}}) <= 300);
}

TEST_CASE("a slave whose worlds have no receiver on a channel gets nothing of it, however large and many its frames") {
  worlds w;
  w.a->lua("tx1", "sim.set_circuit_input(storage.tx, {{'signal-A', 5}}) rcon.print('ok')");
  w.wait_output({{"signal-A", 5}});
  auto slave = parent_of(w.b->game_pid("rx"));
  REQUIRE(slave > 0);
  auto master_before = resident_mib(w.master.pid()), slave_before = resident_mib(slave);

  wire_client flood(w.master.control_endpoint(), w.master.add_client("flood", "publisher"));
  // Some 245 KB, under what one source's frame may take: "signal-A", which the world has, then
  // 1,199 made-up 200-byte names, which it has not.
  wire::signal_frame frame{"flood", "", 1, long_signals(1200, 200)};
  for (int i = 0; i < 200; ++i) {
    frame.source = "s" + std::to_string(i);
    auto r = flood.call(frame);
    REQUIRE(r);
    REQUIRE(std::holds_alternative<wire::ok>(r->body));
  }
  // The slave's link still works: a change on a channel its world receives arrives.
  w.a->lua("tx1", "sim.set_circuit_input(storage.tx, {{'signal-A', 6}}) rcon.print('ok')");
  w.wait_output({{"signal-A", 6}});
  std::printf("200 frames of %zu bytes on a channel no world receives: master RSS %.0f -> %.0f MiB (peak %.0f), "
              "receiving slave %.0f -> %.0f MiB (peak %.0f)\n",
              wire::encode({0, frame}).size(), master_before, resident_mib(w.master.pid()), peak_resident_mib(w.master.pid()), slave_before,
              resident_mib(slave), peak_resident_mib(slave));
  if (memory_is_measurable)
    CHECK(peak_resident_mib(slave) - slave_before < 4); // on main it grew by 8 MiB, the frames passed on to the world
  CHECK_FALSE(w.received_any("flood"));
}

TEST_CASE("a world is given a channel only once a receiver uses it, and then at once the channel's current frames") {
  worlds w;
  wire_client tool(w.master.control_endpoint(), w.master.add_client("panel", "publisher"));
  // Sent once: the master keeps it for signal_source_timeout_ms (10 s), nobody repeats it.
  expect_reply<wire::ok>(tool, wire::signal_frame{"late", "", epoch_ms(), {{"signal-E", 4, "virtual"}}});
  std::this_thread::sleep_for(1500ms);
  CHECK_FALSE(w.received_any("late"));

  w.add_receiver(*w.b, "rx", "rx_late", "late");
  std::map<std::string, std::int64_t> out;
  CHECK(eventually([&] { return (out = w.output("rx_late")) == std::map<std::string, std::int64_t>{{"signal-E", 4}}; }, 5s, 100ms));
  INFO("the new receiver outputs " << json(out).dump());
}

TEST_CASE("a world that sends and receives on one channel outputs the other sources' sum") {
  worlds w;
  w.add_receiver(*w.a, "tx1", "rx", "ch1");
  w.a->lua("tx1", "sim.set_circuit_input(storage.tx, {{'signal-A', 5}}) rcon.print('ok')");
  w.a->lua("tx2", "sim.set_circuit_input(storage.tx, {{'signal-A', 3}, {'signal-B', 1}}) rcon.print('ok')");
  w.wait_output({{"signal-A", 8}, {"signal-B", 1}});
  std::map<std::string, std::int64_t> out;
  CHECK(eventually([&] { return (out = w.output("rx", "tx1")) == std::map<std::string, std::int64_t>{{"signal-A", 3}, {"signal-B", 1}}; },
                   10s, 100ms));
  INFO("tx1's receiver outputs " << json(out).dump());
  // tx1 changes what it sends, again and again: its own receiver still shows only tx2's, while
  // the others see the new sum.
  for (int v : {50, 51, 52}) {
    w.a->lua("tx1", "sim.set_circuit_input(storage.tx, {{'signal-A', " + std::to_string(v) + "}}) rcon.print('ok')");
    std::this_thread::sleep_for(50ms);
  }
  w.wait_output({{"signal-A", 55}, {"signal-B", 1}});
  CHECK(w.output("rx", "tx1") == std::map<std::string, std::int64_t>{{"signal-A", 3}, {"signal-B", 1}});
}

// What the master publishes on its bus: inventory deltas at least once a second with epoch time,
// and instance events, including going offline after a configurable silence.

#include <optional>
#include <thread>

#include "common/clock.hpp"
#include "tests/master/helpers.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("inventory: a full snapshot on subscribing, then the levels that changed, with epoch time") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto inst = expect_reply<wire::registered>(slave, wire::register_instance{"w", ""}).instance_id;
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 1, 1, {{"coal", 5}, {"stone", 7}}});

  bus_subscriber bus(m.bus_endpoint(), m.add_client("watch", "subscriber"), "inventory");
  // The export's own delta can still be on its way (levels are published every 200 ms) when the
  // subscription arrives: it may come first. The snapshot follows it.
  std::optional<wire::inventory_levels> full;
  for (int i = 0; i < 3 && !full; ++i) {
    auto f = bus.recv(5s);
    REQUIRE(f);
    auto& inv = std::get<wire::inventory_levels>(f->second.body);
    if (inv.full)
      full = inv;
    else
      CHECK(inv.levels == wire::item_list{{"coal", 5}, {"stone", 7}});
  }
  REQUIRE(full);
  CHECK(full->levels == wire::item_list{{"coal", 5}, {"stone", 7}});

  auto sent = epoch_ms();
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 2, 2, {{"coal", 1}}});
  std::optional<wire::inventory_levels> delta;
  for (int i = 0; i < 10 && !delta; ++i) {
    auto f = bus.recv(2s);
    REQUIRE(f);
    auto& inv = std::get<wire::inventory_levels>(f->second.body);
    if (!inv.full)
      delta = inv;
  }
  REQUIRE(delta);
  CHECK(delta->levels == wire::item_list{{"coal", 6}}); // only what changed
  CHECK(delta->time_ms >= sent - 1000);
  CHECK(delta->time_ms <= epoch_ms());
  CHECK(epoch_ms() - sent < 1500); // within a second (the interval is 500 ms)
}

TEST_CASE("instance events: online with UPS on heartbeat, offline after the configured silence") {
  master_fixture m(false, "\"heartbeat_ms\":200,\"instance_timeout_ms\":1000");
  m.start();
  bus_subscriber bus(m.bus_endpoint(), m.add_client("watch", "subscriber"), "event/");
  std::this_thread::sleep_for(300ms); // let the subscription reach the master
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto inst = expect_reply<wire::registered>(slave, wire::register_instance{"w", "10.0.0.1:34197"}).instance_id;
  expect_reply<wire::ok>(slave, wire::heartbeat{inst, 59.5, 1234, 3, "running"});

  auto next_event = [&]() -> wire::instance_info {
    auto f = bus.recv(5s);
    REQUIRE(f);
    CHECK(f->first == "event/instance");
    return std::get<wire::instance_info>(f->second.body);
  };
  wire::instance_info e;
  do
    e = next_event();
  while (e.players != 3);
  CHECK(e.online);
  CHECK(e.ups == Approx(59.5));
  CHECK(e.tick == 1234);
  CHECK(e.game_address == "10.0.0.1:34197");
  CHECK(e.slave == "slave1");
  auto silent_since = mono_ms();
  e = next_event(); // no more heartbeats: offline after ~1 s
  CHECK_FALSE(e.online);
  CHECK(mono_ms() - silent_since >= 800);
  auto list = expect_reply<wire::slaves_reply>(slave, wire::slaves_query{});
  REQUIRE(list.instances.size() == 1);
  CHECK_FALSE(list.instances[0].online);
}

// A hostile subscriber against a real master's bus: made-up, overlong or countless
// subscriptions cost the subscriber its connection, not the master its memory, and the other
// subscribers go on receiving.

#include <thread>

#include "tests/master/helpers.hpp"
#include "tests/support/hostile.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/process.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {
/// A master, a slave exporting one plate at a time, and a subscriber that keeps the rules.
struct bus_with_exports {
  master_fixture m;
  std::unique_ptr<wire_client> slave;
  std::unique_ptr<bus_subscriber> kept;
  std::uint64_t instance = 0, batch = 0;
  std::int64_t level = 0;

  bus_with_exports() {
    m.start();
    slave = std::make_unique<wire_client>(m.control_endpoint(), m.add_client("slave1", "slave"));
    instance = expect_reply<wire::registered>(*slave, wire::register_instance{"w", ""}).instance_id;
    kept = std::make_unique<bus_subscriber>(m.bus_endpoint(), m.add_client("kept", "subscriber"), "inventory");
  }
  /// One more iron plate; returns its level.
  std::int64_t export_one() {
    ++batch;
    expect_reply<wire::export_ack>(*slave, wire::export_batch{instance, batch, batch, {{"iron-plate", 1}}});
    return ++level;
  }
  bool receives(bus_subscriber& sub, std::chrono::milliseconds timeout = 3s) {
    return eventually([&] { return sees_level(sub, "iron-plate", export_one(), timeout); }, 30s, 0ms);
  }
};
} // namespace

TEST_CASE("long subscriptions cost the subscriber its connection, not the master its memory") {
  bus_with_exports c;
  REQUIRE(c.receives(*c.kept));
  auto before = resident_mib(c.m.pid());
  {
    // 2,000 distinct subscriptions of 4,000 bytes: ZeroMQ would keep some 250 MiB of them.
    bus_subscriber hostile(c.m.bus_endpoint(), c.m.add_client("hostile", "subscriber"), "inventory");
    subscribe_long_topics(hostile, 2000, 4000);
    std::this_thread::sleep_for(5s); // ample time to send them all
    if (memory_is_measurable)
      CHECK(resident_mib(c.m.pid()) - before < 40);
  }
  CHECK(c.receives(*c.kept));
}

TEST_CASE("a subscription to a made-up topic shuts the subscriber out of the bus; the others go on") {
  bus_with_exports c;
  auto hostile_key = c.m.add_client("hostile", "subscriber");
  bus_subscriber hostile(c.m.bus_endpoint(), hostile_key, "inventory");
  REQUIRE(c.receives(*c.kept));
  REQUIRE(c.receives(hostile));
  hostile.subscribe("made-up/topic");
  REQUIRE(eventually([&] { return c.m.log().find("hostile is shut out of the bus for 60 s: subscription: no topic starts with it") != std::string::npos; }, 10s));
  // The well-behaved subscriber reconnects by itself; the hostile one is refused for a while,
  // a new connection with its key included.
  CHECK(c.receives(*c.kept));
  bus_subscriber again(c.m.bus_endpoint(), hostile_key, "inventory");
  auto level = c.export_one();
  CHECK(sees_level(*c.kept, "iron-plate", level, 5s));
  CHECK_FALSE(sees_level(hostile, "iron-plate", level, 1500ms));
  CHECK_FALSE(sees_level(again, "iron-plate", level, 1500ms));
}

TEST_CASE("countless valid subscriptions from one client shut it out too") {
  bus_with_exports c;
  REQUIRE(c.receives(*c.kept));
  // Counted per client, over its connections: two of 600 each (a SUB socket passes on at most
  // 1,000 subscriptions at a time anyway).
  auto key = c.m.add_client("hostile", "subscriber");
  bus_subscriber first(c.m.bus_endpoint(), key, "inventory"), second(c.m.bus_endpoint(), key, "inventory");
  for (int i = 0; i < 600; ++i) {
    first.subscribe("signal/first-" + std::to_string(i));
    second.subscribe("signal/second-" + std::to_string(i));
  }
  REQUIRE(eventually([&] { return c.m.log().find("hostile is shut out of the bus for 60 s: more than 1024 subscriptions") != std::string::npos; }, 10s));
  CHECK(c.receives(*c.kept));
  auto level = c.export_one();
  CHECK_FALSE(sees_level(first, "iron-plate", level, 1500ms));
  CHECK_FALSE(sees_level(second, "iron-plate", level, 1500ms));
}

TEST_CASE("however long the names, a full inventory reaches subscribers and fits a reply") {
  bus_with_exports c;
  // 21 exports of 4,096 new names of 200 bytes: without a bound on the names' bytes, the full
  // inventory would be 17.5 MB, over what a subscriber accepts, and every subscriber would lose
  // the bus for good.
  auto exported = export_long_names(*c.slave, c.instance, 1001, 21);
  for (auto& refusal : exported.refusals)
    CHECK_THAT(refusal, Catch::Contains("bytes (so that a full inventory fits one frame)"));
  auto accepted = exported.accepted;
  CHECK(accepted == wire::max_stored_key_bytes / wire::max_name_bytes / wire::max_list_entries * wire::max_list_entries);
  // The full snapshot, in parts that each cost a subscriber's connection little (changed
  // levels of the last exports may come first).
  bus_subscriber late(c.m.bus_endpoint(), c.m.add_client("late", "subscriber"), "inventory");
  std::size_t most_levels = 0;
  auto full = next_full_inventory(late, 30s, &most_levels);
  REQUIRE(full);
  CHECK(full->levels.size() == accepted);
  CHECK(most_levels <= wire::max_bus_levels);
  // Subscribers arriving together share that snapshot. With CURVE, ZeroMQ holds an encrypted
  // copy of each message per connection while it sends it: a snapshot of 8.4 MB in one message
  // to 24 of them took some 200 MB at once.
  reset_peak_resident(c.m.pid());
  auto before = resident_mib(c.m.pid());
  std::vector<std::unique_ptr<bus_subscriber>> crowd;
  auto crowd_key = c.m.add_client("crowd", "subscriber");
  for (int i = 0; i < 24; ++i)
    crowd.push_back(std::make_unique<bus_subscriber>(c.m.bus_endpoint(), crowd_key, "inventory"));
  for (auto& sub : crowd) {
    auto got = next_full_inventory(*sub, 30s);
    REQUIRE(got);
    CHECK(got->levels.size() == accepted);
  }
  auto peak = peak_resident_mib(c.m.pid());
  std::printf("master RSS %.0f MiB before 24 subscribers' snapshots, peak %.0f MiB\n", before, peak);
  if (memory_is_measurable)
    CHECK(peak - before < 60); // one message: +195 MiB
  auto reply = c.slave->call(wire::inventory_query{}, 20s);
  REQUIRE(reply);
  REQUIRE(std::holds_alternative<wire::inventory_levels>(reply->body));
  CHECK(std::get<wire::inventory_levels>(reply->body).levels.size() == accepted);
  c.batch = 2000; // above the floor of the exports above
  CHECK(c.receives(*c.kept));
}

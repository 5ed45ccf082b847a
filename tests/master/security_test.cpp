// CURVE and roles against a real master: unknown keys are refused, roles are enforced.

#include <csignal>

#include "tests/master/helpers.hpp"
#include "tests/support/hostile.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("an unknown key is refused, a plain connection too") {
  master_fixture m;
  m.start();
  auto known = m.add_client("slave1", "slave");
  credential stranger = known;
  stranger.keys = make_key_pair(); // right master key, but not on the allow-list
  wire_client c(m.control_endpoint(), stranger);
  CHECK_FALSE(c.call(wire::hello{"stranger", "test"}, 1500ms).has_value());
  wire_client plain(m.control_endpoint(), std::nullopt);
  CHECK_FALSE(plain.call(wire::hello{"plain", "test"}, 1500ms).has_value());
  bus_subscriber sub(m.bus_endpoint(), std::nullopt, "");
  CHECK_FALSE(sub.recv(1500ms).has_value());

  wire_client ok(m.control_endpoint(), known);
  auto w = expect_reply<wire::welcome>(ok, wire::hello{"slave1", "test"});
  CHECK(w.name == "slave1");
  CHECK(w.role == "slave");
}

namespace {
/// Whether the master now answers this client's request with `unauthorized`.
bool refused(wire_client& c) {
  auto r = c.call(wire::inventory_query{}, 1000ms);
  return r && std::holds_alternative<wire::error_reply>(r->body) && std::get<wire::error_reply>(r->body).code == wire::error_code::unauthorized;
}
} // namespace

TEST_CASE("a subscriber can neither place nor take items") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  wire_client sub(m.control_endpoint(), m.add_client("watcher", "subscriber"));
  auto inst = expect_reply<wire::registered>(slave, wire::register_instance{"w", ""}).instance_id;
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 1, 1, {{"iron-plate", 10}}});

  expect_error(sub, wire::register_instance{"mine", ""}, wire::error_code::unauthorized);
  expect_error(sub, wire::export_batch{inst, 2, 1, {{"iron-plate", 1000}}}, wire::error_code::unauthorized);
  expect_error(sub, wire::request_items{inst, {{"iron-plate", 10}}}, wire::error_code::unauthorized);
  expect_error(sub, wire::confirm_grants{inst, {1}, {}}, wire::error_code::unauthorized);
  expect_error(sub, wire::signal_frame{"ch", "", 1, {{"signal-A", 1}}}, wire::error_code::unauthorized);
  expect_error(sub, wire::delete_instance{inst}, wire::error_code::unauthorized);
  CHECK(stock_of(sub, "iron-plate") == 10); // may read
  auto who = expect_reply<wire::welcome>(sub, wire::hello{"watcher", "test"});
  CHECK(who.role == "subscriber");

  // With its credential it may subscribe to the bus.
  // Its snapshot may come after the storage's periodic change of the export above.
  bus_subscriber bus(m.bus_endpoint(), m.add_client("watcher2", "subscriber"), "inventory");
  auto snapshot = next_full_inventory(bus, 5s);
  REQUIRE(snapshot);
  CHECK(snapshot->full);

  // A revoked credential is refused from then on, even on a connection already open.
  child_process revoke({exe("master/clusterio-master"), "remove-client", "watcher", "--data", m.data_dir()}, m.data_dir() + "/cli.log");
  REQUIRE(revoke.wait(10000) == 0);
  CHECK(eventually([&] { return refused(sub); }, 10s, 500ms));

  // So is a key replaced under the same name (add-slave --replace); the new one works.
  auto file = m.data_dir() + "/slave1.cred.json"; // add_client's file
  child_process replace({exe("master/clusterio-master"), "add-slave", "slave1", "--data", m.data_dir(), "--out", file, "--replace"},
                        m.data_dir() + "/cli.log");
  REQUIRE(replace.wait(10000) == 0);
  CHECK(eventually([&] { return refused(slave); }, 10s, 500ms));
  auto renewed = load_credential(file);
  REQUIRE(renewed);
  wire_client slave_again(m.control_endpoint(), *renewed);
  CHECK(stock_of(slave_again, "iron-plate") == 10);
}

TEST_CASE("a removed subscriber loses the bus, on the connection it had open too") {
  auto host = GENERATE(as<std::string>{}, "127.0.0.1", "::1"); // the bus is bound again at its own address
  INFO("master on " << host);
  master_fixture m(false, {}, host);
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto inst = expect_reply<wire::registered>(slave, wire::register_instance{"w", ""}).instance_id;
  bus_subscriber kept(m.bus_endpoint(), m.add_client("kept", "subscriber"), "inventory");
  bus_subscriber removed(m.bus_endpoint(), m.add_client("removed", "subscriber"), "inventory");
  std::uint64_t batch = 0;
  auto export_one = [&] { // iron-plate's level becomes `batch`
    ++batch;
    expect_reply<wire::export_ack>(slave, wire::export_batch{inst, batch, 1, {{"iron-plate", 1}}});
  };
  // Both receive the bus (subscriptions reach the master a moment after connecting).
  REQUIRE(eventually([&] {
    export_one();
    return sees_level(kept, "iron-plate", static_cast<std::int64_t>(batch), 3s) && sees_level(removed, "iron-plate", static_cast<std::int64_t>(batch), 3s);
  }, 20s, 0ms));

  child_process revoke({exe("master/clusterio-master"), "remove-client", "removed", "--data", m.data_dir()}, m.data_dir() + "/cli.log");
  REQUIRE(revoke.wait(10000) == 0);
  // Within the master's allow-list check (a second) the removed key stops receiving; the other
  // subscriber reconnects by itself and goes on.
  CHECK(eventually([&] {
    export_one();
    auto level = static_cast<std::int64_t>(batch);
    return sees_level(kept, "iron-plate", level, 5s) && !sees_level(removed, "iron-plate", level, 1500ms);
  }, 30s, 0ms));
  for (int i = 0; i < 3; ++i) {
    export_one();
    CHECK(sees_level(kept, "iron-plate", static_cast<std::int64_t>(batch), 5s));
  }
  CHECK_FALSE(removed.recv(2s).has_value());
}

// The exactly-once transfer protocol against a real master process over CURVE.

#include "tests/master/helpers.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {

std::uint64_t register_instance(wire_client& c, const std::string& name) {
  auto r = expect_reply<wire::registered>(c, wire::register_instance{name, "127.0.0.1:34197"});
  CHECK(r.instance_id >= 1);
  return r.instance_id;
}

} // namespace

TEST_CASE("export batches are applied once per (instance, batch)") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto id = register_instance(slave, "world1");

  auto ack = expect_reply<wire::export_ack>(slave, wire::export_batch{id, 1, 1, {{"iron-plate", 100}, {"water", 50}}});
  CHECK_FALSE(ack.duplicate);
  auto again = expect_reply<wire::export_ack>(slave, wire::export_batch{id, 1, 1, {{"iron-plate", 100}, {"water", 50}}});
  CHECK(again.duplicate);
  CHECK(stock_of(slave, "iron-plate") == 100);
  CHECK(stock_of(slave, "water") == 50);

  // Batch 2 with floor 2: batch 1's record is pruned, yet batch 1 is still known as applied (as
  // when a game rolled back to a save that still held it).
  expect_reply<wire::export_ack>(slave, wire::export_batch{id, 2, 2, {{"iron-plate", 5}}});
  CHECK(expect_reply<wire::export_ack>(slave, wire::export_batch{id, 1, 1, {{"iron-plate", 100}}}).duplicate);
  CHECK(stock_of(slave, "iron-plate") == 105);

  // Re-registering says where batch numbering must continue (after a game rollback too).
  CHECK(expect_reply<wire::registered>(slave, wire::register_instance{"world1", ""}).next_batch == 3);
}

TEST_CASE("batches applied out of order are each applied once, across a kill -9 of the master") {
  master_fixture m;
  m.start();
  auto cred = m.add_client("slave1", "slave");
  auto id = [&] {
    wire_client slave(m.control_endpoint(), cred);
    auto inst = register_instance(slave, "world1");
    // Several batches in flight, acknowledged out of order: 1, 3, 4 with floor 1 (2 not yet
    // applied), then 2, which closes the gap.
    for (std::uint64_t b : {1, 3, 4})
      CHECK_FALSE(expect_reply<wire::export_ack>(slave, wire::export_batch{inst, b, 1, {{"iron-plate", 1}}}).duplicate);
    CHECK(expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 3, 1, {{"iron-plate", 1}}}).duplicate);
    CHECK_FALSE(expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 2, 1, {{"iron-plate", 1}}}).duplicate);
    CHECK(stock_of(slave, "iron-plate") == 4);
    return inst;
  }();
  m.kill_hard();
  m.start();
  wire_client slave(m.control_endpoint(), cred);
  for (std::uint64_t b : {1, 2, 3, 4})
    CHECK(expect_reply<wire::export_ack>(slave, wire::export_batch{id, b, 1, {{"iron-plate", 1}}}).duplicate);
  CHECK_FALSE(expect_reply<wire::export_ack>(slave, wire::export_batch{id, 6, 5, {{"iron-plate", 1}}}).duplicate);
  CHECK_FALSE(expect_reply<wire::export_ack>(slave, wire::export_batch{id, 5, 5, {{"iron-plate", 1}}}).duplicate);
  CHECK(expect_reply<wire::export_ack>(slave, wire::export_batch{id, 6, 5, {{"iron-plate", 1}}}).duplicate);
  CHECK(stock_of(slave, "iron-plate") == 6);
  CHECK(expect_reply<wire::registered>(slave, wire::register_instance{"world1", ""}).next_batch == 7);
}

TEST_CASE("grants are reserved durably, re-offered on resync and dropped on confirmation") {
  master_fixture m;
  m.start();
  auto slave1_cred = m.add_client("slave1", "slave");
  wire_client slave(m.control_endpoint(), slave1_cred);
  auto producer = register_instance(slave, "producer");
  auto consumer = register_instance(slave, "consumer");
  expect_reply<wire::export_ack>(slave, wire::export_batch{producer, 1, 1, {{"copper-plate", 30}}});

  auto g = expect_reply<wire::grant_reply>(slave, wire::request_items{consumer, {{"copper-plate", 20}, {"nothing-here", 5}}});
  REQUIRE(g.grants.size() == 1);
  CHECK(g.grants[0].name == "copper-plate");
  CHECK(g.grants[0].count == 20);
  CHECK(stock_of(slave, "copper-plate") == 10);

  // A restart of the master loses nothing: the reservation is re-offered.
  m.kill_hard();
  m.start();
  wire_client again(m.control_endpoint(), m.add_client("slave1b", "slave"));
  // Ownership is per slave: another slave may not resync slave1's instance.
  expect_error(again, wire::resync{consumer}, "unauthorized");
  wire_client slave1(m.control_endpoint(), slave1_cred); // slave1 back, with its credential
  auto p = expect_reply<wire::pending_grants>(slave1, wire::resync{consumer});
  REQUIRE(p.grants.size() == 1);
  CHECK(p.grants[0] == g.grants[0]);

  auto ack = expect_reply<wire::confirm_ack>(slave1, wire::confirm_grants{consumer, {g.grants[0].grant_id}, {}});
  CHECK(ack.released == std::vector<std::uint64_t>{g.grants[0].grant_id});
  CHECK(expect_reply<wire::pending_grants>(slave1, wire::resync{consumer}).grants.empty());
  CHECK(stock_of(slave1, "copper-plate") == 10);
  // Confirming twice is harmless.
  expect_reply<wire::confirm_ack>(slave1, wire::confirm_grants{consumer, {g.grants[0].grant_id}, {}});
  CHECK(stock_of(slave1, "copper-plate") == 10);
}

TEST_CASE("a stale reservation returns to storage only after the mod cancelled it") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  wire_client admin(m.control_endpoint(), m.add_client("ops", "admin"));
  auto inst = register_instance(slave, "w");
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 1, 1, {{"coal", 40}}});
  auto g = expect_reply<wire::grant_reply>(slave, wire::request_items{inst, {{"coal", 40}}});
  REQUIRE(g.grants.size() == 1);
  auto gid = g.grants[0].grant_id;

  expect_error(slave, wire::reclaim_grant{gid}, "unauthorized"); // operators only
  expect_reply<wire::ok>(admin, wire::reclaim_grant{gid});
  CHECK(stock_of(admin, "coal") == 0); // not yet: the mod has not said it never applied it
  auto p = expect_reply<wire::pending_grants>(slave, wire::resync{inst});
  CHECK(p.grants.empty());
  CHECK(p.reclaim == std::vector<std::uint64_t>{gid});

  expect_reply<wire::confirm_ack>(slave, wire::confirm_grants{inst, {}, {gid}});
  CHECK(stock_of(admin, "coal") == 40);
  expect_error(admin, wire::reclaim_grant{gid}, "not_found");
}

TEST_CASE("deleting an instance returns its reservations") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto inst = register_instance(slave, "doomed");
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 1, 1, {{"stone", 9}}});
  REQUIRE(expect_reply<wire::grant_reply>(slave, wire::request_items{inst, {{"stone", 9}}}).grants.size() == 1);
  CHECK(stock_of(slave, "stone") == 0);
  expect_reply<wire::ok>(slave, wire::delete_instance{inst});
  CHECK(stock_of(slave, "stone") == 9);
  expect_error(slave, wire::export_batch{inst, 2, 2, {{"stone", 1}}}, "not_found");
}

TEST_CASE("bad frames get typed errors and change nothing") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto inst = register_instance(slave, "w");
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 1, 1, {{"iron-plate", 10}}});

  slave.send_raw("this is not msgpack");
  auto r = slave.recv(5s);
  REQUIRE(r);
  REQUIRE(std::holds_alternative<wire::error_reply>(r->body));
  CHECK(std::get<wire::error_reply>(r->body).code == "invalid");

  // Hand-encode an export with a negative count: encode() does not validate, decode() must.
  expect_error(slave, wire::export_batch{inst, 2, 1, {{"iron-plate", 5}, {"copper-plate", -5}}}, "invalid");
  expect_error(slave, wire::export_batch{inst, 3, 1, {{"iron-plate", wire::max_transfer_count + 1}}}, "invalid");
  expect_error(slave, wire::export_batch{inst, 4, 1, {{"", 5}}}, "invalid");
  expect_error(slave, wire::export_batch{inst, 5, 1, {{"iron\nplate", 5}}}, "invalid");
  expect_error(slave, wire::export_batch{inst, 6, 7, {{"iron-plate", 5}}}, "invalid"); // floor > batch
  expect_error(slave, wire::export_batch{inst + 100, 7, 1, {{"iron-plate", 5}}}, "not_found");
  expect_error(slave, wire::welcome{"x", "slave", 1, 1}, "unsupported");
  CHECK(stock_of(slave, "iron-plate") == 10);
  CHECK(stock_of(slave, "copper-plate") == 0);
  // A hostile name is just a name.
  const std::string hostile = "x\"]]); os.exit() --[[ <script>";
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 8, 1, {{hostile, 3}}});
  CHECK(stock_of(slave, hostile) == 3);
}

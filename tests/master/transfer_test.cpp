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
  expect_error(again, wire::resync{consumer}, wire::error_code::unauthorized);
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

  expect_error(slave, wire::reclaim_grant{gid}, wire::error_code::unauthorized); // operators only
  expect_reply<wire::ok>(admin, wire::reclaim_grant{gid});
  CHECK(stock_of(admin, "coal") == 0); // not yet: the mod has not said it never applied it
  auto p = expect_reply<wire::pending_grants>(slave, wire::resync{inst});
  CHECK(p.grants.empty());
  CHECK(p.reclaim == std::vector<std::uint64_t>{gid});

  expect_reply<wire::confirm_ack>(slave, wire::confirm_grants{inst, {}, {gid}});
  CHECK(stock_of(admin, "coal") == 40);
  expect_error(admin, wire::reclaim_grant{gid}, wire::error_code::not_found);
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
  expect_error(slave, wire::export_batch{inst, 2, 2, {{"stone", 1}}}, wire::error_code::not_found);
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
  CHECK(std::get<wire::error_reply>(r->body).code == wire::error_code::invalid);
  CHECK(r->id == 0); // nothing to read an id from

  // Refused as a whole, yet the id came first: the error answers it, so the sender's wait ends.
  auto good = wire::encode({31, wire::export_batch{inst, 2, 1, {{"iron-plate", 5}}}});
  for (auto& [id, bytes] : std::vector<std::pair<std::uint64_t, std::string>>{
         {31, good + std::string(1, '\0')},                                  // a byte after the map
         {32, wire::encode({32, wire::ok{}}) + std::string(wire::max_request_bytes, '\0')}}) { // over 1 MiB
    INFO("id " << id);
    slave.send_raw(bytes);
    auto refused = slave.recv(5s);
    REQUIRE(refused);
    REQUIRE(std::holds_alternative<wire::error_reply>(refused->body));
    CHECK(std::get<wire::error_reply>(refused->body).field == "(frame)");
    CHECK(refused->id == id);
  }
  // An empty export is refused (it would use up its batch number for nothing).
  expect_error(slave, wire::export_batch{inst, 2, 1, {}}, wire::error_code::invalid);

  // Hand-encode an export with a negative count: encode() does not validate, decode() must.
  expect_error(slave, wire::export_batch{inst, 2, 1, {{"iron-plate", 5}, {"copper-plate", -5}}}, wire::error_code::invalid);
  expect_error(slave, wire::export_batch{inst, 3, 1, {{"iron-plate", wire::max_transfer_count + 1}}}, wire::error_code::invalid);
  expect_error(slave, wire::export_batch{inst, 4, 1, {{"", 5}}}, wire::error_code::invalid);
  expect_error(slave, wire::export_batch{inst, 5, 1, {{"iron\nplate", 5}}}, wire::error_code::invalid);
  expect_error(slave, wire::export_batch{inst, 6, 7, {{"iron-plate", 5}}}, wire::error_code::invalid); // floor > batch
  expect_error(slave, wire::export_batch{inst + 100, 7, 1, {{"iron-plate", 5}}}, wire::error_code::not_found);
  expect_error(slave, wire::welcome{"x", "slave", 1, 1}, wire::error_code::unsupported);
  CHECK(stock_of(slave, "iron-plate") == 10);
  CHECK(stock_of(slave, "copper-plate") == 0);
  // A hostile name is just a name.
  const std::string hostile = "x\"]]); os.exit() --[[ <script>";
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 8, 1, {{hostile, 3}}});
  CHECK(stock_of(slave, hostile) == 3);
}


TEST_CASE("a batch frame's messages are each served as if alone; replies come in batches to who sends them") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  CHECK(expect_reply<wire::welcome>(slave, wire::hello{"slave1", "test"}).batch);
  auto inst = register_instance(slave, "w");

  // 20 exports in one frame: one sweep, one commit, their 20 acknowledgements in one batch.
  std::vector<wire::frame> exports;
  std::set<std::uint64_t> ids;
  for (std::uint64_t b = 1; b <= 20; ++b) {
    exports.push_back({100 + b, wire::export_batch{inst, b, b, {{"iron-plate", 10}}}});
    ids.insert(100 + b);
  }
  slave.send_raw(batch_frame(exports));
  int batches = 0;
  auto got = replies_to(slave, ids, batches);
  CHECK(batches >= 1);
  for (auto& [id, d] : got) {
    INFO(id);
    REQUIRE(d.ok);
    REQUIRE(std::holds_alternative<wire::export_ack>(d.value.body));
    CHECK(std::get<wire::export_ack>(d.value.body).batch == id - 100);
    CHECK_FALSE(std::get<wire::export_ack>(d.value.body).duplicate);
  }
  CHECK(stock_of(slave, "iron-plate") == 200);

  // Good and bad messages mixed: each gets its own answer, and the bad ones change nothing.
  slave.send_raw(batch_frame({{201, wire::export_batch{inst, 21, 21, {{"copper-plate", 7}}}},
                              {202, wire::export_batch{inst + 100, 1, 1, {{"copper-plate", 7}}}},
                              {203, wire::export_batch{inst, 22, 23, {{"copper-plate", 7}}}},
                              {204, wire::request_items{inst, {{"iron-plate", 50}}}},
                              {205, wire::welcome{"x", "slave", 1, 1}}}));
  got = replies_to(slave, {201, 202, 203, 204, 205}, batches);
  CHECK(std::holds_alternative<wire::export_ack>(got[201].value.body));
  CHECK(std::get<wire::error_reply>(got[202].value.body).code == wire::error_code::not_found);
  CHECK(std::get<wire::error_reply>(got[203].value.body).code == wire::error_code::invalid); // floor > batch
  REQUIRE(std::holds_alternative<wire::grant_reply>(got[204].value.body));
  CHECK(std::get<wire::grant_reply>(got[204].value.body).grants.at(0).count == 50);
  CHECK(std::get<wire::error_reply>(got[205].value.body).code == wire::error_code::unsupported);
  CHECK(stock_of(slave, "copper-plate") == 7);
  CHECK(stock_of(slave, "iron-plate") == 150);

  // A batch that is not valid as a whole is refused whole, with one error.
  auto whole = batch_frame({{301, wire::export_batch{inst, 30, 30, {{"coal", 1}}}}, {302, wire::inventory_query{}}});
  slave.send_raw(whole.substr(0, whole.size() - 1));
  auto r = slave.recv(5s);
  REQUIRE(r);
  REQUIRE(std::holds_alternative<wire::error_reply>(r->body));
  CHECK(std::get<wire::error_reply>(r->body).code == wire::error_code::invalid);
  CHECK(std::get<wire::error_reply>(r->body).field == "(frame)");
  CHECK(stock_of(slave, "coal") == 0);

  // A client that never sent a batch gets every reply in a frame of its own.
  wire_client plain(m.control_endpoint(), m.add_client("slave2", "slave"));
  auto other = register_instance(plain, "w2");
  for (std::uint64_t b = 1; b <= 20; ++b)
    plain.send(wire::export_batch{other, b, b, {{"stone", 1}}});
  for (int i = 0; i < 20; ++i) {
    auto frame = plain.recv_raw(5s);
    REQUIRE(frame);
    std::vector<wire::decoded> decoded;
    CHECK_FALSE(wire::decode_frame(*frame, decoded));
    REQUIRE(decoded.size() == 1);
    CHECK(decoded[0].ok);
  }
  CHECK(stock_of(plain, "stone") == 20);
}

TEST_CASE("a batch passes the role check and the rate limit message by message") {
  master_fixture m(false, "\"max_msgs_per_s_per_client\":5");
  m.start();
  wire_client tool(m.control_endpoint(), m.add_client("viewer", "subscriber"));
  // The bucket holds 5 messages: a batch of 3 passes, two of them refused by role alone.
  tool.send_raw(batch_frame({{1, wire::inventory_query{}}, {2, wire::export_batch{1, 1, 1, {{"iron-plate", 1}}}},
                             {3, wire::request_items{1, {{"iron-plate", 1}}}}}));
  int batches = 0;
  auto got = replies_to(tool, {1, 2, 3}, batches);
  CHECK(std::holds_alternative<wire::inventory_levels>(got[1].value.body));
  CHECK(std::get<wire::error_reply>(got[2].value.body).code == wire::error_code::unauthorized);
  CHECK(std::get<wire::error_reply>(got[3].value.body).code == wire::error_code::unauthorized);
  // 30 messages in one frame cannot pass a limit of 5 a second: most are overloaded.
  std::vector<wire::frame> many;
  std::set<std::uint64_t> ids;
  for (std::uint64_t i = 10; i < 40; ++i) {
    many.push_back({i, wire::inventory_query{}});
    ids.insert(i);
  }
  tool.send_raw(batch_frame(many));
  got = replies_to(tool, ids, batches);
  int overloaded = 0;
  for (auto& [id, d] : got)
    if (auto* e = std::get_if<wire::error_reply>(&d.value.body); e && e->code == wire::error_code::overloaded)
      ++overloaded;
  CHECK(overloaded >= 25);
}

// Clients that do not read, and queries that cost more than they should, against a real master:
// what waits for a client that stopped reading is bounded and goes with its connection, and one
// client's queries get `overloaded` past their budget of reply bytes while others are answered.

#include <future>
#include <thread>

#include "common/clock.hpp"
#include "tests/master/helpers.hpp"
#include "tests/support/hostile.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/process.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {

/// The reply to an inventory query, or the error's message ("no reply" if none came).
std::variant<wire::inventory_levels, wire::error_reply> inventory(wire_client& c) {
  auto r = c.call(wire::inventory_query{}, 20s);
  if (!r)
    return wire::make_error(wire::error_code::internal, "no reply");
  if (auto* e = std::get_if<wire::error_reply>(&r->body))
    return *e;
  return std::get<wire::inventory_levels>(r->body);
}

} // namespace

TEST_CASE("a client's queries cost at most their budget of reply bytes: past it overloaded, and answered again soon") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto instance = expect_reply<wire::registered>(slave, wire::register_instance{"w", ""}).instance_id;
  // An inventory of some 1.7 MB: 2 × 4,096 names of 200 bytes.
  REQUIRE(export_long_names(slave, instance, 1, 2).accepted == 2 * wire::max_list_entries);
  wire_client greedy(m.control_endpoint(), m.add_client("greedy", "subscriber"));
  auto first = inventory(greedy);
  REQUIRE(std::holds_alternative<wire::inventory_levels>(first));
  auto reply_bytes = wire::encode({1, std::get<wire::inventory_levels>(first)}).size();

  // A frame's worth (16 MiB) at once, then 1 MiB a second: some 10 replies of 1.7 MB.
  std::size_t answered = 1;
  std::string refusal;
  for (int i = 0; i < 60 && refusal.empty(); ++i) {
    auto r = inventory(greedy);
    if (auto* e = std::get_if<wire::error_reply>(&r)) {
      CHECK(e->code == wire::error_code::overloaded);
      refusal = e->message;
    } else {
      ++answered;
    }
  }
  INFO(answered << " replies of " << reply_bytes << " bytes before the refusal");
  CHECK_THAT(refusal, Catch::Contains("the replies to the queries of client 'greedy' came to more than 1 MiB a second"));
  auto budget = wire::max_frame_bytes;
  CHECK(answered >= budget / reply_bytes);
  CHECK(answered <= budget / reply_bytes + 3); // the refill while they were made
  // Another client has a budget of its own; the greedy one is answered again once it has paid
  // back its debt (at most one reply) at 1 MiB a second.
  wire_client other(m.control_endpoint(), m.add_client("other", "subscriber"));
  CHECK(std::holds_alternative<wire::inventory_levels>(inventory(other)));
  CHECK(eventually([&] { return std::holds_alternative<wire::inventory_levels>(inventory(greedy)); }, 5s, 250ms));

  // 100 at once, on two connections: a reply is charged as it goes out, so a query is taken only
  // while fewer than 2 of the client's wait for theirs; the rest are refused, not made.
  auto piper_key = m.add_client("piper", "subscriber");
  wire_client piper1(m.control_endpoint(), piper_key), piper2(m.control_endpoint(), piper_key);
  for (int i = 0; i < 50; ++i) {
    piper1.send(wire::inventory_query{});
    piper2.send(wire::inventory_query{});
  }
  std::size_t made = 0, told_to_read = 0;
  for (auto* c : {&piper1, &piper2})
    for (int i = 0; i < 50; ++i) {
      auto r = c->recv(20s);
      REQUIRE(r);
      if (std::holds_alternative<wire::inventory_levels>(r->body))
        ++made;
      else if (auto* e = std::get_if<wire::error_reply>(&r->body);
               e && e->message == "2 queries of client 'piper' wait for their replies; read them first")
        ++told_to_read;
    }
  INFO(made << " made, " << told_to_read << " refused for waiting ones");
  CHECK(made >= 2);
  CHECK(made <= budget / reply_bytes); // all 100 were made before: the credit was checked before any charge
  CHECK(made + told_to_read == 100);
}

TEST_CASE("a client that stops reading is cut off with what waited for it; the others are served meanwhile") {
  master_fixture m;
  m.start();
  auto backlog = [&] { return tcp_connections_on({m.control_port(), m.bus_port()}); };
  // A channel summed every 10 ms, and a client that reads.
  std::atomic<bool> stop{false};
  auto publisher = std::async(std::launch::async, [&, cred = m.add_client("pub", "publisher")] {
    publish_busy_channel(m.control_endpoint(), cred, "busy", stop);
  });
  wire_client reader(m.control_endpoint(), m.add_client("reader", "subscriber"));
  REQUIRE(std::holds_alternative<wire::inventory_levels>(inventory(reader)));
  auto baseline = backlog().connections; // the publisher's and the reader's

  // Five bus and five control connections that never read, for 45 s; the master gives up on
  // a peer that takes nothing for 30 s.
  auto deaf = m.add_client("deaf", "subscriber");
  auto bus_deaf = std::async(std::launch::async, [&] { subscribe_without_reading(m.bus_endpoint(), deaf, "signal/busy", 5, 45s); });
  auto control_deaf = std::async(std::launch::async, [&] { ask_without_reading(m.control_endpoint(), deaf, wire::inventory_query{}, 5, 20000, 45s); });
  auto t0 = mono_ms();
  CHECK(eventually([&] { return backlog().connections >= baseline + 10 && backlog().queued_bytes > 1000000; }, 20s, 250ms));
  auto stalled = backlog();
  // Meanwhile the reader is answered.
  CHECK(std::holds_alternative<wire::inventory_levels>(inventory(reader)));
  CHECK(eventually([&] { return backlog().connections <= baseline; }, 42s, 500ms));
  auto cut_after = mono_ms() - t0;
  auto after = backlog();
  INFO("stalled: " << stalled.connections << " connections, " << stalled.queued_bytes << " bytes unsent; cut off after " << cut_after
                   << " ms: " << after.connections << " connections, " << after.queued_bytes << " bytes");
  CHECK(after.queued_bytes < 100000);
  CHECK(std::holds_alternative<wire::inventory_levels>(inventory(reader)));
  bus_deaf.get();
  control_deaf.get();
  stop = true;
  publisher.get();
}

TEST_CASE("a client that keeps sending but never reads is cut off as well") {
  // Its requests reach the master and are acknowledged, but what the master sends it stays
  // unacknowledged behind its shut window: TCP_USER_TIMEOUT still ends the connection.
  master_fixture m;
  m.start();
  auto backlog = [&] { return tcp_connections_on({m.control_port()}); };
  wire_client reader(m.control_endpoint(), m.add_client("reader", "subscriber"));
  REQUIRE(std::holds_alternative<wire::inventory_levels>(inventory(reader)));
  auto talker = m.add_client("talker", "subscriber");
  auto t0 = mono_ms();
  auto talking = std::async(std::launch::async, [&] {
    ask_without_reading(m.control_endpoint(), talker, wire::inventory_query{}, 3, 20000, 50s, 1s);
  });
  CHECK(eventually([&] { return backlog().queued_bytes > 100000; }, 20s, 250ms));
  auto stalled = backlog();
  CHECK(eventually([&] { return backlog().queued_bytes < 20000; }, 42s, 500ms));
  auto after = backlog();
  INFO("stalled: " << stalled.connections << " connections, " << stalled.queued_bytes << " bytes unsent; after " << mono_ms() - t0
                   << " ms: " << after.connections << " connections, " << after.queued_bytes << " bytes");
  CHECK(after.queued_bytes < 20000);
  CHECK(std::holds_alternative<wire::inventory_levels>(inventory(reader)));
  talking.get();
}

// A real master killed with kill -9 in the middle of a load loses nothing it acknowledged, and
// re-sent batches are applied once.

#include <map>
#include <random>
#include <thread>

#include "store/storage_db.hpp"
#include "tests/master/helpers.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("kill -9 during exports: acknowledged batches survive, re-sent ones apply once") {
  // Both modes promise this: `process` writes each commit to the WAL before acknowledging it,
  // and only leaves the syncing to the OS.
  const std::string durability = GENERATE(as<std::string>{}, "full", "process");
  INFO("durability " << durability);
  master_fixture m(false, "\"durability\":\"" + durability + "\"");
  m.start();
  auto cred = m.add_client("loader", "slave");
  std::mt19937 rng(20261124);
  const std::vector<std::string> names{"iron-plate", "copper-plate", "water", "coal", "ケーブル"};

  std::uint64_t instance = 0;
  {
    wire_client c(m.control_endpoint(), cred);
    instance = expect_reply<wire::registered>(c, wire::register_instance{"loader-world", ""}).instance_id;
  }

  // Every batch ever sent, by number; which ones were acknowledged.
  std::map<std::uint64_t, wire::item_list> sent;
  std::map<std::uint64_t, bool> acked;
  std::uint64_t next_batch = 1;

  // Past the commit log's first fold (each export acknowledged before the next is its own
  // commit): each restart below reads folded tables and replays the records after them. The
  // records hold levels, not increments, so the stock of an item changed only before the fold
  // is in the tables alone: 1,000 commits of stone, then wood until past the fold.
  const std::int64_t stone = 1000, wood = static_cast<std::int64_t>(storage_db::commits_per_fold) + 100 - stone;
  {
    wire_client c(m.control_endpoint(), cred);
    for (std::int64_t i = 0; i < stone + wood; ++i)
      expect_reply<wire::export_ack>(c, wire::export_batch{instance, next_batch++, 1, {{i < stone ? "stone" : "wood", 1}}});
  }

  for (int round = 0; round < 3; ++round) {
    wire_client c(m.control_endpoint(), cred);
    // Pipeline batches; kill the master at a random moment while they are in flight.
    auto kill_after = std::uniform_int_distribution<int>(50, 400)(rng);
    std::map<std::uint64_t, std::uint64_t> batch_of_request;
    for (int i = 0; i < 600; ++i) {
      wire::item_list items;
      for (auto& n : names)
        if (rng() % 2)
          items.push_back({n, static_cast<std::int64_t>(rng() % 1000 + 1)});
      if (items.empty())
        items.push_back({names[0], 1});
      auto b = next_batch++;
      sent[b] = items;
      batch_of_request[c.send(wire::export_batch{instance, b, 1, items})] = b;
      if (i == kill_after)
        m.kill_hard();
      if (i > kill_after)
        break;
      while (auto r = c.recv(0ms))
        if (auto* a = std::get_if<wire::export_ack>(&r->body))
          acked[a->batch] = true;
    }
    while (auto r = c.recv(300ms))
      if (auto* a = std::get_if<wire::export_ack>(&r->body))
        acked[a->batch] = true;

    m.start();
    wire_client after(m.control_endpoint(), cred);
    // Everything acknowledged is there (and nothing beyond what was sent).
    std::map<std::string, std::int64_t> acked_sum, sent_sum;
    for (auto& [b, items] : sent)
      for (auto& it : items) {
        sent_sum[it.name] += it.count;
        if (acked[b])
          acked_sum[it.name] += it.count;
      }
    CHECK(stock_of(after, "stone") == stone);
    CHECK(stock_of(after, "wood") == wood);
    for (auto& n : names) {
      auto have = stock_of(after, n);
      INFO("round " << round << " item " << n);
      CHECK(have >= acked_sum[n]);
      CHECK(have <= sent_sum[n]);
    }
    // The slave's recovery: re-send every unacknowledged batch; each applies at most once.
    for (auto& [b, items] : sent)
      if (!acked[b]) {
        auto a = expect_reply<wire::export_ack>(after, wire::export_batch{instance, b, 1, items});
        acked[b] = true;
        (void)a;
      }
    for (auto& n : names) {
      INFO("round " << round << " item " << n << " after re-send");
      CHECK(stock_of(after, n) == sent_sum[n]);
    }
  }
}

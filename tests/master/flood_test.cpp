// Limits against a real master: a flooding client is throttled (`overloaded`) without hurting
// the others, and the storage refuses new item names beyond max_item_names.

#include <algorithm>
#include <atomic>
#include <thread>

#include "tests/master/helpers.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("a flooding slave gets overloaded while another slave keeps being answered") {
  master_fixture m(false, "\"max_msgs_per_s_per_client\":500");
  m.start();
  auto flooder_cred = m.add_client("flooder", "slave");
  wire_client calm(m.control_endpoint(), m.add_client("calm", "slave"));
  auto inst = expect_reply<wire::registered>(calm, wire::register_instance{"calm-1", ""}).instance_id;

  std::atomic<bool> flooding{true};
  std::atomic<int> sent{0}, overloaded{0}, answered{0};
  std::thread flood([&] {
    wire_client f(m.control_endpoint(), flooder_cred);
    // Bounded: 20,000 frames or 4 seconds, whichever comes first (40 times its limit).
    auto until = std::chrono::steady_clock::now() + 4s;
    for (int i = 0; i < 20000 && std::chrono::steady_clock::now() < until; ++i) {
      f.send(wire::inventory_query{});
      ++sent;
      while (auto r = f.recv(0ms)) {
        ++answered;
        if (auto* e = std::get_if<wire::error_reply>(&r->body); e && e->code == wire::error_code::overloaded)
          ++overloaded;
      }
    }
    while (auto r = f.recv(1000ms)) {
      ++answered;
      if (auto* e = std::get_if<wire::error_reply>(&r->body); e && e->code == wire::error_code::overloaded)
        ++overloaded;
    }
    flooding = false;
  });

  // Meanwhile the calm slave's requests are all answered, each within a bounded time.
  auto worst = 0ms;
  int calls = 0;
  std::uint64_t batch = 1;
  while (flooding || calls < 20) {
    auto t0 = std::chrono::steady_clock::now();
    if (calls % 2 == 0) {
      auto ack = expect_reply<wire::export_ack>(calm, wire::export_batch{inst, batch, batch, {{"iron-plate", 1}}}, 5s);
      CHECK(ack.batch == batch);
      ++batch;
    } else {
      expect_reply<wire::inventory_levels>(calm, wire::inventory_query{}, 5s);
    }
    worst = std::max(worst, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0));
    ++calls;
    std::this_thread::sleep_for(20ms);
  }
  flood.join();
  INFO("flooder sent " << sent << ", got " << answered << " replies, " << overloaded << " overloaded; calm slave: " << calls
                       << " calls, worst latency " << worst.count() << " ms");
  CHECK(overloaded > 0);
  CHECK(sent - overloaded < 5000); // the rest was refused: at most a burst plus 500/s got through
  CHECK(calls >= 20);
  CHECK(worst < 2000ms); // exports are fsync'd (durability full): well below this when not starved
  CHECK(stock_of(calm, "iron-plate") == static_cast<std::int64_t>(batch - 1));
}

TEST_CASE("storage refuses a new item name beyond max_item_names, applying nothing") {
  master_fixture m(false, "\"max_item_names\":3");
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto inst = expect_reply<wire::registered>(slave, wire::register_instance{"names", ""}).instance_id;
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 1, 1, {{"a", 1}, {"b", 2}, {"c", 3}}});

  auto e = expect_error(slave, wire::export_batch{inst, 2, 2, {{"a", 10}, {"d", 1}}}, wire::error_code::overloaded);
  CHECK(e.message.find("storage holds the maximum of 3 distinct items") != std::string::npos);
  CHECK(e.field == "items");
  CHECK(stock_of(slave, "a") == 1); // nothing of the refused batch was applied
  CHECK(stock_of(slave, "d") == 0);

  // Names already held still take exports; the refused batch number is still free.
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 2, 2, {{"a", 10}, {"c", 1}}});
  CHECK(stock_of(slave, "a") == 11);
  CHECK(stock_of(slave, "c") == 4);
}

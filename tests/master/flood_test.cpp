// Limits against a real master: a flooding client is throttled (`overloaded`) without hurting
// the others, the storage refuses new item names beyond max_item_names, and one credential's
// connections do not take the file descriptors every other client needs.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "tests/master/helpers.hpp"
#include "tests/support/hostile.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tcp_connection.hpp"

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

namespace {

/// The soft and hard limits on open files of process `pid`, from /proc ("Max open files").
std::pair<std::string, std::string> open_files_limit(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream fields(line.substr(std::string("Max open files").size()));
      std::string soft, hard;
      fields >> soft >> hard;
      return {soft, hard};
    }
  return {};
}

} // namespace

TEST_CASE("one credential's 600 connections leave the master file descriptors to serve everyone else") {
  // The master starts with a soft limit of 256 open files (a login shell's is often 1024) and
  // raises it to the hard limit: all 600 connections are taken (before: 321, counting those
  // left waiting in the backlog), and another client and the page are served meanwhile.
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 2048) {
    WARN("the hard limit on open files here is " << saved.rlim_max << ": too low for this test");
    return;
  }
  // This process's limit as it was, whatever happens below.
  struct restore {
    rlimit limit;
    ~restore() { setrlimit(RLIMIT_NOFILE, &limit); }
  } restore_at_end{saved};
  master_fixture m;
  auto flooder = m.add_client("flooder", "subscriber");
  auto reader = m.add_client("reader", "subscriber");
  rlimit low{256, saved.rlim_max}; // the master inherits it
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  m.start();
  // The flood's 600 ZeroMQ sockets take two descriptors each here (the connection and the
  // socket's mailbox): more than a login shell's 1024.
  rlim_t want = saved.rlim_max == RLIM_INFINITY ? 4096 : std::min<rlim_t>(saved.rlim_max, 4096);
  rlimit enough{std::max(saved.rlim_cur, want), saved.rlim_max};
  REQUIRE(setrlimit(RLIMIT_NOFILE, &enough) == 0);
  auto [soft, hard] = open_files_limit(m.pid());
  INFO("the master's limit on open files: soft " << soft << ", hard " << hard);
  CHECK(soft == hard);

  auto flood = std::async(std::launch::async, [&] { ask_without_reading(m.control_endpoint(), flooder, wire::inventory_query{}, 600, 1, 20s); });
  CHECK(eventually([&] { return tcp_connections_on({m.control_port()}).connections >= 600; }, 15s, 250ms));
  INFO("connections: " << tcp_connections_on({m.control_port()}).connections);
  // Another client connects and is answered, and so is the web page.
  wire_client other(m.control_endpoint(), reader);
  auto r = other.call(wire::inventory_query{}, 10s);
  CHECK((r && std::holds_alternative<wire::inventory_levels>(r->body)));
  tcp_connection page(m.http_port());
  REQUIRE(page.ok());
  REQUIRE(page.send("GET /api/storage HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  CHECK(http_status_of(page.receive()) == 200);
  std::string why;
  CHECK(m.running(why));
  flood.get();
}

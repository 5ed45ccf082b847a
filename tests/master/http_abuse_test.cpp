// Hostile web clients against a real master: endless or countless headers, heads sent a line at
// a time, idle and surplus connections. None may cost the master its memory or keep the page
// from being answered (docs/limits.md, "HTTP").

#include <atomic>
#include <future>
#include <thread>

#include "tests/master/helpers.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tcp_connection.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// GET `path` on a fresh connection: the status (0: none within 3 s) and how long it took.
std::pair<int, std::chrono::milliseconds> timed_get(int port, const std::string& path, const std::string& from = "127.0.0.1") {
  auto start = steady::now();
  tcp_connection c(port, from);
  c.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  auto reply = c.receive(3s);
  return {http_status_of(reply), std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start)};
}

/// A request's first lines (two header fields), without the empty line that ends the head.
const std::string request_head = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";

/// `n` header fields of `value_bytes` each.
std::string fields(int n, std::size_t value_bytes = 1) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += "X-" + std::to_string(i) + ": " + std::string(value_bytes, 'a') + "\r\n";
  return out;
}

} // namespace

TEST_CASE("endless headers are cut off with 431 and cost the master no memory") {
  master_fixture m;
  m.start();
  auto before = resident_mib(m.pid());
  // Two clients, each sending up to 100 MB of header lines (1 KiB each) and never the end of
  // the head. A master that kept them all would grow by hundreds of MB.
  constexpr std::size_t attack_bytes = 100u << 20;
  std::atomic<std::size_t> sent[2] = {0, 0};
  std::string replies[2];
  std::atomic<int> running{2};
  std::vector<std::thread> attackers;
  for (int i = 0; i < 2; ++i)
    attackers.emplace_back([&, i] {
      tcp_connection c(m.http_port());
      const std::string line = "X-Fill: " + std::string(1014, 'a') + "\r\n";
      bool open = c.send(request_head);
      while (open && sent[i] < attack_bytes) {
        open = c.send(line);
        sent[i] += line.size();
      }
      replies[i] = c.receive(3s);
      --running;
    });
  double peak = before;
  for (int i = 0; i < 600 && running > 0; ++i) { // at most 30 s
    peak = std::max(peak, resident_mib(m.pid()));
    std::this_thread::sleep_for(50ms);
  }
  for (auto& t : attackers)
    t.join();
  peak = std::max(peak, resident_mib(m.pid()));
  INFO("RSS before " << before << " MiB, peak " << peak << " MiB; sent " << sent[0] << " and " << sent[1] << " bytes");
  if (memory_is_measurable)
    CHECK(peak - before < 30);
  for (int i = 0; i < 2; ++i) {
    INFO("reply " << i << ": " << replies[i].substr(0, 200));
    // Cut off after its first 32 KiB: what the kernel's buffers took before the master closed.
    CHECK(sent[i] < 10u << 20);
    // The 431 is sent before the close; the reset of the unread rest may overtake it.
    CHECK((replies[i].empty() || http_status_of(replies[i]) == 431));
  }
  CHECK(timed_get(m.http_port(), "/api/health").first == 200);
}

TEST_CASE("too many or too large headers get a status that says so") {
  master_fixture m;
  m.start();
  auto ask = [&](const std::string& head) {
    tcp_connection c(m.http_port());
    c.send(head + "\r\n");
    return c.receive();
  };
  // 101 header fields in all, then 100.
  auto counted = ask(request_head + fields(99));
  CHECK(http_status_of(counted) == 431);
  CHECK(counted.find("{\"error\":\"more than 100 header fields\"}") != std::string::npos);
  CHECK(counted.find("Content-Security-Policy: ") != std::string::npos);
  CHECK(http_status_of(ask(request_head + fields(98))) == 200);
  // A head over what a connection may hold (32 KiB), in 40 fields of 1 KiB; 20 are fine.
  CHECK(http_status_of(ask(request_head + fields(40, 1024))) == 431);
  CHECK(http_status_of(ask(request_head + fields(20, 1024))) == 200);
  // A request line over it.
  CHECK(http_status_of(ask("GET /" + std::string(40 * 1024, 'a') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n")) == 414);
}

TEST_CASE("clients that send their head a line a second do not hold up the page, and are cut off") {
  master_fixture m;
  m.start();
  // Four times the old server's worker threads, each sending a header line every second.
  std::vector<std::unique_ptr<tcp_connection>> slow;
  for (int i = 0; i < 16; ++i) {
    slow.push_back(std::make_unique<tcp_connection>(m.http_port()));
    REQUIRE(slow.back()->send(request_head));
  }
  std::vector<bool> cut(slow.size(), false);
  auto trickle_start = steady::now();
  std::chrono::milliseconds worst{0};
  int answered = 0;
  for (int second = 0; second < 14; ++second) { // the deadline is 10 s
    for (std::size_t i = 0; i < slow.size(); ++i)
      if (!cut[i] && (slow[i]->closed_within(0ms) || !slow[i]->send("X-Slow: " + std::to_string(second) + "\r\n")))
        cut[i] = true;
    if (second < 5) {
      // Meanwhile the page is answered at once, whatever the slow clients do.
      for (int k = 0; k < 4; ++k) {
        auto [status, took] = timed_get(m.http_port(), "/api/health");
        answered += status == 200 ? 1 : 0;
        worst = std::max(worst, took);
      }
    }
    std::this_thread::sleep_for(1s);
  }
  CHECK(answered == 20);
  CHECK(worst < 1s);
  INFO("slowest answer " << worst.count() << " ms; trickled for "
                         << std::chrono::duration_cast<std::chrono::seconds>(steady::now() - trickle_start).count() << " s");
  for (std::size_t i = 0; i < slow.size(); ++i) {
    INFO("slow client " << i);
    CHECK(cut[i]);
  }
}

TEST_CASE("idle connections do not delay a request") {
  master_fixture m;
  m.start();
  std::vector<std::unique_ptr<tcp_connection>> idle;
  for (int i = 0; i < 64; ++i)
    idle.push_back(std::make_unique<tcp_connection>(m.http_port()));
  for (int k = 0; k < 5; ++k) {
    auto [status, took] = timed_get(m.http_port(), "/api/health");
    CHECK(status == 200);
    CHECK(took < 1s);
  }
  // After the deadline (10 s) the idle ones are closed.
  CHECK(eventually([&] { return idle.back()->closed_within(0ms); }, 15s, 500ms));
}

TEST_CASE("one address holds at most 128 connections, all addresses 512") {
  master_fixture m;
  m.start();
  std::vector<std::unique_ptr<tcp_connection>> held;
  auto hold = [&](const std::string& from) {
    for (int i = 0; i < 128; ++i)
      held.push_back(std::make_unique<tcp_connection>(m.http_port(), from));
  };
  hold("127.0.0.2");
  // A 129th from the same address is closed at once, unanswered; another address is served.
  tcp_connection over_address(m.http_port(), "127.0.0.2");
  CHECK(over_address.closed_within(2s));
  CHECK(timed_get(m.http_port(), "/api/health", "127.0.0.3").first == 200);
  // Four addresses fill the server: one more connection waits in the kernel's queue...
  for (auto* from : {"127.0.0.3", "127.0.0.4", "127.0.0.5"})
    hold(from);
  auto waiting = std::async(std::launch::async, [&] { return timed_get(m.http_port(), "/api/health", "127.0.0.6"); });
  CHECK(waiting.wait_for(1s) == std::future_status::timeout);
  // ...until one address's connections are gone.
  held.erase(held.begin(), held.begin() + 128);
  auto [status, took] = waiting.get();
  CHECK(status == 200);
  CHECK(took < 3s);
}

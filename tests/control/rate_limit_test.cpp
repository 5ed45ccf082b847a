// Per-client token buckets (control/rate_limit.cpp) on a clock the test moves: a burst of one
// second's worth, refill at the rate, clients apart, and the forgetting of idle buckets.

#include <catch2/catch.hpp>

#include <string>

#include "control/rate_limit.hpp"
#include "tests/support/manual_clock.hpp"

using namespace clusterio;

namespace {

struct limited {
  test::manual_clock time;
  rate_limit limits;
  explicit limited(std::uint32_t per_second, std::size_t max_clients = rate_limit::default_max_clients)
    : limits(per_second, time, max_clients) {}

  /// How many of `n` messages from `client` are admitted, the clock standing still.
  int admitted(const std::string& client, int n) {
    int yes = 0;
    for (int i = 0; i < n; ++i)
      yes += limits.admit(client) ? 1 : 0;
    return yes;
  }
};

} // namespace

TEST_CASE("a client gets a burst of one second's worth, then the rate") {
  limited l(100);
  CHECK(l.admitted("a", 150) == 100);
  l.time.advance(10); // 10 ms: one token
  CHECK(l.admitted("a", 5) == 1);
  l.time.advance(250); // a quarter of a second
  CHECK(l.admitted("a", 100) == 25);
  l.time.advance(60000); // a long pause fills the bucket, no more
  CHECK(l.admitted("a", 150) == 100);
}

TEST_CASE("clients have buckets of their own") {
  limited l(10);
  CHECK(l.admitted("a", 20) == 10);
  CHECK(l.admitted("b", 20) == 10);
  CHECK(l.admitted("a", 1) == 0);
  CHECK(l.limits.clients() == 2);
}

TEST_CASE("no limit at 0") {
  limited l(0);
  CHECK(l.admitted("a", 100000) == 100000);
  CHECK(l.limits.clients() == 0);
}

TEST_CASE("idle buckets are forgotten when the table is full; busy ones are not") {
  limited l(10, 3);
  CHECK(l.admitted("a", 10) == 10);
  CHECK(l.admitted("b", 10) == 10);
  l.time.advance(rate_limit::idle_ms); // a and b idle (full again)
  CHECK(l.admitted("c", 10) == 10);
  CHECK(l.limits.clients() == 3);
  // Full: a newcomer makes the idle ones go, and the busy one stays (still empty).
  CHECK(l.admitted("d", 1) == 1);
  CHECK(l.limits.clients() == 2);
  CHECK(l.admitted("c", 1) == 0);
  // Forgotten: a comes back with a full bucket, as it would have had anyway.
  CHECK(l.admitted("a", 20) == 10);
}

TEST_CASE("a table full of busy clients starts again") {
  limited l(10, 2);
  CHECK(l.admitted("a", 10) == 10);
  CHECK(l.admitted("b", 10) == 10);
  l.time.advance(rate_limit::idle_ms - 1); // nobody idle yet
  CHECK(l.admitted("c", 1) == 1);
  CHECK(l.limits.clients() == 1); // only c: a and b were forgotten with a fresh burst to come
  CHECK(l.admitted("a", 20) == 10);
}

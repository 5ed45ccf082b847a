// Per-client token buckets (control/rate_limit.cpp) on a clock the test moves: a burst of one
// second's worth (or as given), refill at the rate, clients apart, charges below zero, and the
// forgetting of full buckets.

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
    : limits(per_second, time, 0, max_clients) {}

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

TEST_CASE("full buckets are forgotten when the table is full; the others are not") {
  limited l(10, 3);
  CHECK(l.admitted("a", 10) == 10);
  CHECK(l.admitted("b", 10) == 10);
  l.time.advance(1000); // a and b full again
  CHECK(l.admitted("c", 10) == 10);
  CHECK(l.limits.clients() == 3);
  // The table is full: a newcomer makes the full buckets go, and the empty one stays.
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
  l.time.advance(999); // nobody full yet
  CHECK(l.admitted("c", 1) == 1);
  CHECK(l.limits.clients() == 1); // only c: a and b were forgotten with a fresh burst to come
  CHECK(l.admitted("a", 20) == 10);
}

TEST_CASE("charges: taken below zero, at most one burst; in credit again once paid back at the rate") {
  test::manual_clock time;
  rate_limit bytes(1000, time, 4000); // 1,000 a second, a burst of 4,000
  CHECK(bytes.in_credit("a"));
  bytes.charge("a", 3000);
  CHECK(bytes.in_credit("a")); // 1,000 left
  bytes.charge("a", 3000);     // -2,000
  CHECK_FALSE(bytes.in_credit("a"));
  time.advance(1999);
  CHECK_FALSE(bytes.in_credit("a"));
  time.advance(2);
  CHECK(bytes.in_credit("a"));
  // However large a charge, the debt is one burst at most: 4 s to pay back.
  bytes.charge("a", 1e12);
  time.advance(4000);
  CHECK_FALSE(bytes.in_credit("a"));
  time.advance(1);
  CHECK(bytes.in_credit("a"));
  CHECK(bytes.in_credit("b")); // another client, its own bucket
}

TEST_CASE("a bucket in debt is not forgotten while the table has full ones") {
  test::manual_clock time;
  rate_limit bytes(1000, time, 4000, 2);
  bytes.charge("a", 8000);
  CHECK(bytes.in_credit("b"));
  CHECK(bytes.in_credit("c")); // table full: b (full) goes, a (in debt) stays
  CHECK(bytes.clients() == 2);
  CHECK_FALSE(bytes.in_credit("a"));
}

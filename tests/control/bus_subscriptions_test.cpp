// The bus's rules for subscriptions, in process with a manual clock: which topics may be
// subscribed to, how many per client, and how long a client that breaks a rule stays out.

#include <catch2/catch.hpp>

#include "control/bus_subscriptions.hpp"
#include "messages/message.hpp"
#include "tests/support/manual_clock.hpp"

using namespace clusterio;

namespace {
std::string subscribe(std::string_view topic) { return '\1' + std::string(topic); }
std::string unsubscribe(std::string_view topic) { return '\0' + std::string(topic); }
} // namespace

TEST_CASE("a subscription must be a prefix of a topic the master publishes") {
  for (auto ok : {"", "i", "inventory", "event/", "event/instance", "sig", "signal/", "signal/a", "signal/train-stop.1", "signal-",
                  "signal-src/", "signal-src/a.b"})
    CHECK(wire::check_subscription(ok).ok());
  for (auto bad : {"inventoryX", "event/other", "x", "signal/a b", "signal/.hidden", "pub/", "signal-src/.x", "signal-sr/"})
    CHECK_FALSE(wire::check_subscription(bad).ok());
  CHECK(wire::check_subscription("signal/" + std::string(64, 'c')).ok());
  CHECK_FALSE(wire::check_subscription("signal/" + std::string(65, 'c')).ok());
  CHECK(wire::check_subscription("signal-src/" + std::string(64, 'c')).ok());
  CHECK_FALSE(wire::check_subscription("signal-src/" + std::string(65, 'c')).ok());
  CHECK(wire::max_topic_bytes == 75);
}

TEST_CASE("a client breaking a rule is shut out for a while; others are not") {
  test::manual_clock time;
  bus_subscriptions subs(time, 3);
  CHECK(subs.note("good", subscribe("inventory")).ok());
  CHECK(subs.note("bad", subscribe("inventory")).ok());
  auto refused = subs.note("bad", subscribe("made-up"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.why().find("no topic starts with it") != std::string::npos);
  CHECK(subs.shut_out("bad"));
  CHECK_FALSE(subs.shut_out("good"));
  // What it sent before its connection closed counts for nothing.
  CHECK(subs.note("bad", subscribe("more-made-up")).ok());
  time.advance(bus_subscriptions::ban_ms - 1);
  CHECK(subs.shut_out("bad"));
  time.advance(1);
  CHECK_FALSE(subs.shut_out("bad"));
  // Not a subscription message at all.
  CHECK_FALSE(subs.note("bad", "\2inventory").ok());
}

TEST_CASE("subscriptions are counted per client until the bus reopens; unsubscribing gives room") {
  test::manual_clock time;
  bus_subscriptions subs(time, 3);
  for (auto t : {"signal/a", "signal/b", "signal/c"})
    CHECK(subs.note("k", subscribe(t)).ok());
  CHECK(subs.note("k", unsubscribe("signal/c")).ok());
  CHECK(subs.note("k", subscribe("signal/d")).ok());
  CHECK(subs.note("other", subscribe("signal/a")).ok()); // counted apart
  // ZeroMQ's own unsubscriptions (the last subscriber of a topic left) name no client.
  CHECK(subs.note("", unsubscribe("signal/a")).ok());
  subs.reopened(); // every subscriber starts again from nothing
  for (auto t : {"signal/a", "signal/b", "signal/c"})
    CHECK(subs.note("k", subscribe(t)).ok());
  auto over = subs.note("k", subscribe("signal/e"));
  REQUIRE_FALSE(over.ok());
  CHECK(over.why() == "more than 3 subscriptions");
  CHECK(subs.shut_out("k"));
}

// The signal bus actor on CAF's deterministic scheduler, with an injected clock: what it
// publishes for each input, exactly (order, drops, expiry, snapshots, counters).

#include <algorithm>

#include "actors/master/signal_bus.hpp"
#include "tests/actors/master/actor_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;

namespace {

struct published {
  std::string topic;
  wire::signal_frame frame;
};

struct bus_fixture : actor_fixture {
  signal_bus_actor bus;

  explicit bus_fixture(std::uint64_t timeout_ms = 10000) {
    signal_bus_config c;
    c.source_timeout_ms = timeout_ms;
    c.time = &time;
    c.own_thread = false;
    bus = keep(spawn_signal_bus(*sys, c, out));
  }

  void send(std::vector<wire::signal_frame> frames) {
    caf::anon_send(bus, signal_atom::value, signal_frames(std::move(frames)));
    run();
  }
  /// Everything published since the last call, decoded.
  std::vector<published> take() {
    std::vector<published> r;
    for (auto& b : take_bus())
      r.push_back({b.topic, as<wire::signal_frame>(b)});
    return r;
  }
  signal_bus_stats stats() { return ask<signal_bus_stats>(bus, sig_stats_atom::value); }
};

wire::signal_frame frame(std::string channel, std::string source, std::uint64_t seq, wire::signal_list signals) {
  return {std::move(channel), std::move(source), seq, std::move(signals)};
}

} // namespace

TEST_CASE("signal bus: accepted frames are published on signal/<channel>, stale ones dropped") {
  bus_fixture f;
  f.send({frame("a", "s1", 5, {{"x", 1}}), frame("a", "s1", 5, {{"x", 2}}), frame("a", "s1", 4, {{"x", 3}}),
          frame("a", "s2", 1, {{"y", 1}}), frame("b", "s1", 1, {{"z", 1}}), frame("a", "s1", 6, {{"x", 4}})});
  auto p = f.take();
  REQUIRE(p.size() == 4);
  CHECK(p[0].topic == "signal/a");
  CHECK(p[0].frame.seq == 5);
  CHECK(p[0].frame.signals == wire::signal_list{{"x", 1}});
  CHECK(p[1].frame.source == "s2");
  CHECK(p[2].topic == "signal/b");
  CHECK(p[3].frame.seq == 6);
  CHECK(p[3].frame.signals == wire::signal_list{{"x", 4}});

  auto s = f.stats();
  REQUIRE(s.channels.size() == 2);
  CHECK(s.channels[0].channel == "a");
  CHECK(s.channels[0].accepted == 3);
  CHECK(s.channels[0].dropped == 2);
  CHECK(s.channels[0].sources == 2);
  CHECK(s.channels[1].channel == "b");
  CHECK(s.channels[1].accepted == 1);
  CHECK(s.channels[1].dropped == 0);
}

TEST_CASE("signal bus: a silent source's contribution is removed after the timeout, then forgotten") {
  bus_fixture f(1000);
  f.send({frame("a", "s1", 7, {{"x", 1}}), frame("a", "s2", 1, {{"y", 1}})});
  f.take();
  f.time.advance(600);
  f.send({frame("a", "s2", 2, {{"y", 2}})}); // s2 stays alive
  f.take();
  f.time.advance(500); // s1 silent 1100 ms, s2 500 ms
  caf::anon_send(f.bus, tick_atom::value);
  f.run();
  auto p = f.take();
  REQUIRE(p.size() == 1);
  CHECK(p[0].topic == "signal/a");
  CHECK(p[0].frame.source == "s1");
  CHECK(p[0].frame.seq == 8);
  CHECK(p[0].frame.signals.empty());
  CHECK(f.stats().channels.at(0).expired == 1);
  CHECK(f.stats().channels.at(0).sources == 1);

  // Forgotten: it may start again from seq 1.
  f.send({frame("a", "s1", 1, {{"x", 9}})});
  REQUIRE(f.take().size() == 1);

  // A source that withdrew itself (empty frame) expires silently: nothing left to remove.
  f.send({frame("a", "s3", 1, {})});
  f.take();
  f.time.advance(5000);
  caf::anon_send(f.bus, tick_atom::value);
  f.run();
  for (auto& x : f.take())
    CHECK(x.frame.source != "s3");
}

TEST_CASE("signal bus: a new subscription gets the current non-empty frames of the channels it covers") {
  bus_fixture f;
  f.send({frame("a", "s1", 3, {{"x", 1}}), frame("a", "s2", 1, {}), frame("ab", "s1", 1, {{"y", 1}}), frame("b", "s1", 1, {{"z", 1}})});
  f.take();
  // Two subscriptions in a burst share one republish.
  caf::anon_send(f.bus, sig_snap_atom::value, std::string("signal/a"));
  caf::anon_send(f.bus, sig_snap_atom::value, std::string("signal/a"));
  f.run();
  CHECK(f.take().empty()); // coalesced: published when the short delay ends
  f.fire_timers();
  auto p = f.take();
  std::vector<std::string> got;
  for (auto& x : p)
    got.push_back(x.topic + " " + x.frame.source + " " + std::to_string(x.frame.seq));
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"signal/a s1 3", "signal/ab s1 1"}); // the prefix covers "ab"; s2 is empty

  caf::anon_send(f.bus, sig_snap_atom::value, std::string(""));
  f.run();
  f.fire_timers();
  CHECK(f.take().size() == 3);
}

TEST_CASE("signal bus: signals are kept by full id: a fluid and an item of one name, rare and normal, stay apart") {
  bus_fixture f;
  const wire::signal_list signals{{"water", 1},         {"water", 2, "fluid"},         {"iron-plate", 3},
                                  {"iron-plate", 4, "item", "rare"}, {"rare", 5, "quality"}, {"signal-A", -6, "virtual", "epic"}};
  f.send({frame("a", "s1", 1, signals), frame("a", "s2", 1, {{"water", 7, "fluid"}})});
  auto p = f.take();
  REQUIRE(p.size() == 2);
  CHECK(p[0].frame.signals == signals);
  CHECK(p[1].frame.signals == wire::signal_list{{"water", 7, "fluid"}});

  // A new subscriber's snapshot carries them as they were sent, too.
  caf::anon_send(f.bus, sig_snap_atom::value, std::string("signal/a"));
  f.run();
  f.fire_timers();
  for (auto& x : f.take())
    CHECK(x.frame.signals == (x.frame.source == "s1" ? signals : wire::signal_list{{"water", 7, "fluid"}}));
}

// The signal bus actor on CAF's deterministic scheduler, with an injected clock: what it
// publishes for each input, exactly (order, drops, expiry, snapshots, counters).

#include <algorithm>

#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/master/jobs.hpp"
#include "actors/master/signal_bus.hpp"
#include "common/outbox.hpp"

using namespace clusterio;

namespace {

struct published {
  std::string topic;
  wire::signal_frame frame;
};

struct bus_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  outbox out;
  std::uint64_t now = 1000;
  caf::actor bus;

  explicit bus_fixture(std::uint64_t timeout_ms = 10000) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    signal_bus_config c;
    c.source_timeout_ms = timeout_ms;
    c.clock = [this] { return now; };
    c.own_thread = false;
    bus = spawn_signal_bus(*sys, c, out);
    sched->run();
  }
  ~bus_fixture() {
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void send(std::vector<wire::signal_frame> frames) {
    caf::anon_send(bus, signal_atom::value, signal_frames(std::move(frames)));
    sched->run();
  }
  /// Everything published since the last call, decoded.
  std::vector<published> take() {
    std::vector<outbox::item> items;
    out.drain(items);
    std::vector<published> r;
    for (auto& it : items) {
      REQUIRE(it.publish);
      auto d = wire::decode(it.payload);
      REQUIRE(d.ok);
      REQUIRE(std::holds_alternative<wire::signal_frame>(d.value.body));
      r.push_back({it.address, std::get<wire::signal_frame>(d.value.body)});
    }
    return r;
  }
  signal_bus_stats stats() {
    caf::scoped_actor self{*sys};
    self->send(bus, sig_stats_atom::value);
    sched->run();
    signal_bus_stats s;
    self->receive([&s](signal_bus_stats& x) { s = std::move(x); });
    return s;
  }
};

wire::signal_frame frame(std::string channel, std::string source, std::uint64_t seq, wire::item_list signals) {
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
  CHECK(p[0].frame.signals == wire::item_list{{"x", 1}});
  CHECK(p[1].frame.source == "s2");
  CHECK(p[2].topic == "signal/b");
  CHECK(p[3].frame.seq == 6);
  CHECK(p[3].frame.signals == wire::item_list{{"x", 4}});

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
  f.now += 600;
  f.send({frame("a", "s2", 2, {{"y", 2}})}); // s2 stays alive
  f.take();
  f.now += 500; // s1 silent 1100 ms, s2 500 ms
  caf::anon_send(f.bus, tick_atom::value);
  f.sched->run();
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
  f.now += 5000;
  caf::anon_send(f.bus, tick_atom::value);
  f.sched->run();
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
  f.sched->run();
  CHECK(f.take().empty()); // coalesced: published when the short delay ends
  f.sched->trigger_timeouts();
  f.sched->run();
  auto p = f.take();
  std::vector<std::string> got;
  for (auto& x : p)
    got.push_back(x.topic + " " + x.frame.source + " " + std::to_string(x.frame.seq));
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"signal/a s1 3", "signal/ab s1 1"}); // the prefix covers "ab"; s2 is empty

  caf::anon_send(f.bus, sig_snap_atom::value, std::string(""));
  f.sched->run();
  f.sched->trigger_timeouts();
  f.sched->run();
  CHECK(f.take().size() == 3);
}

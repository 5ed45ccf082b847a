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
  std::uint64_t next_id = 1;
  std::vector<sent_reply> answers; ///< to the frames sent, in order

  explicit bus_fixture(std::uint64_t timeout_ms = 10000, std::uint64_t max_kept_bytes = 64u << 20) {
    signal_bus_config c;
    c.source_timeout_ms = timeout_ms;
    c.max_kept_bytes = max_kept_bytes;
    c.time = &time;
    c.own_thread = false;
    bus = keep(spawn_signal_bus(*sys, c, out));
  }

  void send(std::vector<wire::signal_frame> frames) {
    signal_jobs jobs;
    for (auto& f : frames)
      jobs.push_back({route{"peer", next_id++}, std::move(f)});
    caf::anon_send(bus, signal_atom::value, std::move(jobs));
    run();
  }
  /// Everything published since the last call, decoded; the answers go to `answers`.
  std::vector<published> take() {
    std::vector<sent_bus> bus_sent;
    actor_fixture::take(answers, bus_sent);
    std::vector<published> r;
    for (auto& b : bus_sent)
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

namespace {

/// `n` signals with names of `name_bytes` bytes.
wire::signal_list big_list(std::size_t n, std::size_t name_bytes) {
  wire::signal_list out;
  for (std::size_t i = 0; i < n; ++i) {
    auto name = std::to_string(i);
    out.push_back({name + std::string(name_bytes - name.size(), 'x'), 1});
  }
  return out;
}

} // namespace

TEST_CASE("signal bus: every frame is answered; a stale one ok, though not published") {
  bus_fixture f;
  f.send({frame("a", "s1", 5, {{"x", 1}}), frame("a", "s1", 5, {{"x", 2}})});
  CHECK(f.take().size() == 1);
  REQUIRE(f.answers.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(f.answers[i].peer == "peer");
    CHECK(f.answers[i].id == i + 1);
    CHECK(std::holds_alternative<wire::ok>(f.answers[i].msg));
  }
}

TEST_CASE("signal bus: a frame longer than max_signal_frame_bytes is refused, and nothing of it kept") {
  bus_fixture f;
  // 4,096 signals of 200-byte names: some 819 KB, what a client may send in one frame.
  f.send({frame("a", "s1", 1, big_list(4096, 200))});
  CHECK(f.take().empty());
  REQUIRE(f.answers.size() == 1);
  auto& e = as<wire::error_reply>(f.answers[0]);
  CHECK(e.code == wire::error_code::invalid);
  CHECK(e.field == "signals");
  CHECK(e.message.find("max_signal_frame_bytes") != std::string::npos);
  auto s = f.stats();
  CHECK(s.channels.empty());
  CHECK(s.kept_bytes == 0);
  CHECK(s.refused_frame_bytes == 1);

  // The same signals with names of 50 bytes fit.
  f.send({frame("a", "s1", 2, big_list(4096, 50))});
  CHECK(f.take().size() == 1);
  CHECK(std::holds_alternative<wire::ok>(f.answers.at(1).msg));
}

TEST_CASE("signal bus: the bytes kept over all sources are bounded; past the bound frames are refused and nothing kept is lost") {
  constexpr std::uint64_t bound = 100000;
  bus_fixture f(1000, bound);
  auto list = big_list(100, 90); // some 10 KB a frame
  std::size_t kept = 0;
  for (int i = 0; i < 20; ++i) {
    f.send({frame("c" + std::to_string(i % 3), "s" + std::to_string(i), 1, list)});
    f.take();
    if (std::holds_alternative<wire::ok>(f.answers.back().msg))
      ++kept;
  }
  CHECK(kept >= 8);
  CHECK(kept <= 10);
  auto s = f.stats();
  CHECK(s.kept_bytes <= bound);
  CHECK(s.kept_bytes > bound - 12000);
  CHECK(s.refused_kept_bytes == 20 - kept);
  auto& e = as<wire::error_reply>(f.answers.back());
  CHECK(e.code == wire::error_code::overloaded);
  CHECK(e.message.find("max_signal_bytes") != std::string::npos);

  // What was kept is still there: a new subscriber gets every kept source's frame.
  caf::anon_send(f.bus, sig_snap_atom::value, std::string("signal/"));
  f.run();
  f.fire_timers();
  CHECK(f.take().size() == kept);

  // A kept source may still send a frame of its size, and withdraw.
  f.send({frame("c0", "s0", 2, list), frame("c1", "s1", 2, {})});
  CHECK(f.take().size() == 2);
  CHECK(std::holds_alternative<wire::ok>(f.answers.at(f.answers.size() - 2).msg));
  CHECK(std::holds_alternative<wire::ok>(f.answers.back().msg));

  // Silent sources give their bytes back, and their channels go with them.
  f.time.advance(1500);
  caf::anon_send(f.bus, tick_atom::value);
  f.run();
  f.take();
  s = f.stats();
  CHECK(s.kept_bytes == 0);
  CHECK(s.channels.empty());
  f.send({frame("c0", "s19", 1, list)});
  CHECK(f.take().size() == 1);
  CHECK(std::holds_alternative<wire::ok>(f.answers.back().msg));
}

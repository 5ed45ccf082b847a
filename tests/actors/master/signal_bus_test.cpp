// The signal bus actor on CAF's deterministic scheduler, with an injected clock: what it
// publishes for each input, exactly (sums and their sources, coalescing, republication, expiry,
// snapshots, bounds, counters).

#include <algorithm>
#include <map>
#include <random>

#include "actors/master/signal_bus.hpp"
#include "messages/signal_sums.hpp"
#include "tests/actors/master/actor_fixture.hpp"
#include "tests/support/signal_lists.hpp"

using namespace clusterio;
using namespace clusterio::test;

namespace {

constexpr std::uint64_t interval_ms = 5, quiet_ms = 100, republish_ms = 2000;

/// What the bus published since the last look: sums on signal/, frames on signal-src/.
struct published {
  std::vector<wire::signal_sum> sums;
  std::vector<wire::signal_frame> frames;
};

struct bus_fixture : actor_fixture {
  signal_bus_actor bus;
  std::uint64_t next_id = 1;
  std::vector<sent_reply> answers; ///< to the frames sent, in order

  explicit bus_fixture(std::uint64_t timeout_ms = 10000, std::uint64_t max_kept_bytes = 64u << 20) {
    signal_bus_config c;
    c.source_timeout_ms = timeout_ms;
    c.max_kept_bytes = max_kept_bytes;
    c.min_interval_ms = interval_ms;
    c.quiet_republish_ms = quiet_ms;
    c.republish_ms = republish_ms;
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
  published take() {
    std::vector<sent_bus> bus_sent;
    actor_fixture::take(answers, bus_sent);
    published r;
    for (auto& b : bus_sent) {
      if (b.topic.rfind("signal-src/", 0) == 0) {
        r.frames.push_back(as<wire::signal_frame>(b));
        CHECK(b.topic == "signal-src/" + r.frames.back().channel);
      } else {
        r.sums.push_back(as<wire::signal_sum>(b));
        CHECK(b.topic == "signal/" + r.sums.back().channel);
      }
    }
    return r;
  }
  /// Moves the clock on and lets every timer that is due by then fire.
  void wait(std::uint64_t ms) {
    time.advance(ms);
    fire_timers();
  }
  void subscribe(std::string prefix) {
    caf::anon_send(bus, sig_snap_atom::value, std::move(prefix));
    run();
    fire_timers();
  }
  signal_bus_stats stats() { return ask<signal_bus_stats>(bus, sig_stats_atom::value); }
};

wire::signal_frame frame(std::string channel, std::string source, std::uint64_t seq, wire::signal_list signals) {
  return {std::move(channel), std::move(source), seq, std::move(signals)};
}

std::vector<std::pair<std::string, std::uint64_t>> sources_of(const wire::signal_sum& s) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (auto& src : s.sources)
    out.emplace_back(src.source, src.seq);
  return out;
}

using source_list = std::vector<std::pair<std::string, std::uint64_t>>;

} // namespace

TEST_CASE("signal bus: a channel's sum over each source's latest frame, with the (source, seq) it holds") {
  bus_fixture f;
  f.send({frame("a", "s1", 5, {{"x", 1}}), frame("a", "s1", 5, {{"x", 2}}), frame("a", "s1", 4, {{"x", 3}}),
          frame("a", "s2", 1, {{"x", 10}, {"y", 1}}), frame("b", "s1", 1, {{"z", 1}}), frame("a", "s1", 6, {{"x", 4}})});
  auto p = f.take();
  // Every accepted frame on signal-src/, in order; stale ones dropped.
  REQUIRE(p.frames.size() == 4);
  CHECK(p.frames[0].seq == 5);
  CHECK(p.frames[1].source == "s2");
  CHECK(p.frames[2].channel == "b");
  CHECK(p.frames[3].seq == 6);
  CHECK(p.frames[3].signals == wire::signal_list{{"x", 4}});
  // Each channel's first change is published at once; the rest of the batch waits for the interval.
  REQUIRE(p.sums.size() == 2);
  CHECK(p.sums[0].channel == "a");
  CHECK(sources_of(p.sums[0]) == source_list{{"s1", 5}});
  CHECK(p.sums[0].signals == wire::signal_list{{"x", 1}});
  CHECK(p.sums[1].channel == "b");

  f.wait(interval_ms);
  p = f.take();
  REQUIRE(p.sums.size() == 1);
  CHECK(p.sums[0].channel == "a");
  CHECK(sources_of(p.sums[0]) == source_list{{"s1", 6}, {"s2", 1}});
  CHECK(p.sums[0].signals == wire::signal_list{{"x", 14}, {"y", 1}});

  auto s = f.stats();
  REQUIRE(s.channels.size() == 2);
  CHECK(s.channels[0].channel == "a");
  CHECK(s.channels[0].accepted == 3);
  CHECK(s.channels[0].dropped == 2);
  CHECK(s.channels[0].sources == 2);
  CHECK(s.channels[0].published == 2);
  CHECK(s.channels[0].sum_signals == 2);
  CHECK(s.channels[1].accepted == 1);
}

TEST_CASE("signal bus: many changes inside an interval give one publication with the last state") {
  bus_fixture f;
  f.send({frame("a", "s0", 1, {{"x", 1}})});
  auto first = f.take().sums.at(0);
  // Ten sources, ten frames each, in ten batches within one interval.
  for (std::uint64_t round = 1; round <= 10; ++round) {
    std::vector<wire::signal_frame> batch;
    for (int src = 1; src <= 10; ++src)
      batch.push_back(frame("a", "s" + std::to_string(src), round, {{"x", static_cast<std::int64_t>(round)}, {"y", src}}));
    f.send(std::move(batch));
    CHECK(f.take().sums.empty());
  }
  f.wait(interval_ms);
  auto p = f.take();
  REQUIRE(p.sums.size() == 1);
  CHECK(p.sums[0].generation > first.generation);
  CHECK(p.sums[0].sources.size() == 11);
  CHECK(p.sums[0].signals == wire::signal_list{{"x", 1 + 10 * 10}, {"y", 55}});
  // Quiet: nothing more within the quiet delay...
  f.wait(quiet_ms - interval_ms - 1);
  CHECK(f.take().sums.empty());
  // ...then the same sum once more (a subscriber that missed it converges), same generation.
  f.wait(1);
  auto again = f.take();
  REQUIRE(again.sums.size() == 1);
  CHECK(again.sums[0].generation == p.sums[0].generation);
  CHECK(again.sums[0].signals == p.sums[0].signals);
  // And every republish_ms while the channel has sources.
  f.wait(republish_ms - 1);
  CHECK(f.take().sums.empty());
  f.wait(1);
  CHECK(f.take().sums.size() == 1);
  f.wait(republish_ms);
  CHECK(f.take().sums.size() == 1);
}

TEST_CASE("signal bus: a subscriber that lost every sum of a burst converges to the true sum") {
  bus_fixture f;
  std::mt19937 rng(7);
  std::map<std::string, wire::signal_list> last; // each source's last frame: the truth
  for (std::uint64_t round = 1; round <= 50; ++round) {
    std::vector<wire::signal_frame> batch;
    std::vector<int> order{0, 1, 2, 3, 4, 5, 6, 7};
    std::shuffle(order.begin(), order.end(), rng);
    for (int i = 0; i < 5; ++i) { // five of the eight sources, each once (one seq a round)
      auto source = "s" + std::to_string(order[static_cast<std::size_t>(i)]);
      wire::signal_list signals;
      for (auto name : {"a", "b", "c"})
        if (rng() % 2)
          signals.push_back({name, static_cast<std::int64_t>(rng() % 2001) - 1000});
      last[source] = signals;
      batch.push_back(frame("ch", source, round, std::move(signals)));
    }
    f.send(std::move(batch));
    f.wait(1 + rng() % 4); // some changes coalesce, some go out at once
  }
  f.take(); // lost: a slow subscriber's queue dropped all of them
  std::vector<const wire::signal_list*> lists;
  for (auto& [source, signals] : last)
    lists.push_back(&signals);
  auto truth = wire::sum_of(lists);
  f.wait(quiet_ms);
  auto p = f.take();
  REQUIRE(!p.sums.empty());
  CHECK(p.sums.back().signals == truth);
  std::size_t listed = 0;
  for (auto& [source, signals] : last)
    listed += !signals.empty();
  CHECK(p.sums.back().sources.size() == listed);
}

TEST_CASE("signal bus: a sum adds as circuit wires do: int32 wrapping, zeros left out, full ids apart") {
  bus_fixture f;
  f.send({frame("a", "s1", 1, {{"x", wire::max_signal_value}, {"y", 5}, {"water", 2, "fluid"}, {"iron-plate", 3, "item", "rare"}}),
          frame("a", "s2", 1, {{"x", 1}, {"y", -5}, {"water", 7}, {"iron-plate", 4}})});
  f.wait(interval_ms);
  auto p = f.take();
  REQUIRE(!p.sums.empty());
  // Sorted by signal key: type, then name, then quality.
  CHECK(p.sums.back().signals == wire::signal_list{{"water", 2, "fluid"}, {"iron-plate", 4}, {"iron-plate", 3, "item", "rare"},
                                                   {"water", 7}, {"x", wire::min_signal_value}});
  // A source whose frame empties is no longer listed; its signals leave the sum.
  f.send({frame("a", "s2", 2, {})});
  f.wait(interval_ms);
  p = f.take();
  REQUIRE(p.sums.size() == 1);
  CHECK(sources_of(p.sums[0]) == source_list{{"s1", 1}});
  CHECK(p.sums[0].signals == wire::signal_list{{"water", 2, "fluid"}, {"iron-plate", 3, "item", "rare"}, {"x", wire::max_signal_value}, {"y", 5}});
}

TEST_CASE("signal bus: a silent source's contribution is removed after the timeout; an empty channel is forgotten after a few republications") {
  bus_fixture f(1000);
  f.send({frame("a", "s1", 7, {{"x", 1}}), frame("a", "s2", 1, {{"y", 1}})});
  f.time.advance(600);
  f.send({frame("a", "s2", 2, {{"y", 2}})}); // s2 stays alive
  f.take();
  f.wait(500); // s1 silent 1100 ms, s2 500 ms: the sweep removes s1
  f.wait(interval_ms); // (a republication due at the same time may have taken the interval)
  auto p = f.take();
  REQUIRE(p.frames.size() == 1);
  CHECK(p.frames[0].source == "s1");
  CHECK(p.frames[0].seq == 8);
  CHECK(p.frames[0].signals.empty());
  REQUIRE(!p.sums.empty());
  CHECK(sources_of(p.sums.back()) == source_list{{"s2", 2}});
  CHECK(p.sums.back().signals == wire::signal_list{{"y", 2}});
  CHECK(f.stats().channels.at(0).expired == 1);
  CHECK(f.stats().channels.at(0).sources == 1);

  // s2 falls silent too: an empty sum, once more when quiet, once at the periodic time, then gone.
  f.wait(1100);
  f.wait(interval_ms);
  p = f.take();
  REQUIRE(!p.sums.empty());
  CHECK(p.sums.back().sources.empty());
  CHECK(p.sums.back().signals.empty());
  std::size_t empties = 0;
  for (auto& s : p.sums)
    empties += s.signals.empty();
  for (int i = 0; i < 10; ++i) {
    f.wait(republish_ms / 2);
    for (auto& s : f.take().sums) {
      CHECK(s.signals.empty());
      ++empties;
    }
  }
  CHECK(empties == 3);
  auto s = f.stats();
  CHECK(s.channels.empty());
  CHECK(s.kept_bytes == 0);

  // Forgotten: a source may start again from seq 1, and generations never repeat.
  f.send({frame("a", "s1", 1, {{"x", 9}})});
  p = f.take();
  REQUIRE(p.sums.size() == 1);
  CHECK(p.sums[0].signals == wire::signal_list{{"x", 9}});
}

TEST_CASE("signal bus: a new subscription gets the sums, or the frames, of the channels it covers") {
  bus_fixture f;
  f.send({frame("a", "s1", 3, {{"x", 1}}), frame("a", "s2", 1, {}), frame("ab", "s1", 1, {{"y", 1}}), frame("b", "s1", 1, {{"z", 1}})});
  f.wait(interval_ms);
  f.take();
  // Two subscriptions in a burst share one republish, when the short delay ends.
  caf::anon_send(f.bus, sig_snap_atom::value, std::string("signal/a"));
  caf::anon_send(f.bus, sig_snap_atom::value, std::string("signal/a"));
  f.run();
  CHECK(f.take().sums.empty());
  f.fire_timers();
  auto p = f.take();
  std::vector<std::string> got;
  for (auto& s : p.sums)
    got.push_back(s.channel);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"a", "ab"}); // the prefix covers "ab"
  CHECK(p.frames.empty());

  // The per-source topic: each source's frame, the empty one left out.
  f.subscribe("signal-src/a");
  p = f.take();
  CHECK(p.sums.empty());
  got.clear();
  for (auto& x : p.frames)
    got.push_back(x.channel + " " + x.source + " " + std::to_string(x.seq));
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"a s1 3", "ab s1 1"});

  f.subscribe("");
  p = f.take();
  CHECK(p.sums.size() == 3);
  CHECK(p.frames.size() == 3);
}

TEST_CASE("signal bus: every frame is answered; a stale one ok, though not published") {
  bus_fixture f;
  f.send({frame("a", "s1", 5, {{"x", 1}}), frame("a", "s1", 5, {{"x", 2}})});
  CHECK(f.take().frames.size() == 1);
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
  f.send({frame("a", "s1", 1, made_up_signals(4096, 200))});
  auto p = f.take();
  CHECK(p.frames.empty());
  CHECK(p.sums.empty());
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
  f.send({frame("a", "s1", 2, made_up_signals(4096, 50))});
  CHECK(f.take().frames.size() == 1);
  CHECK(std::holds_alternative<wire::ok>(f.answers.at(1).msg));
}

TEST_CASE("signal bus: a channel's sum is bounded in signals and bytes; past a bound frames are refused and the sum stays whole") {
  bus_fixture f;
  // Distinct signals: four sources of 4,096 each fill the 16,384; a fifth's are refused.
  auto distinct = [](int src) {
    wire::signal_list l;
    for (int i = 0; i < 4096; ++i)
      l.push_back({"s" + std::to_string(src) + "-" + std::to_string(i), 1});
    return l;
  };
  for (int src = 0; src < 5; ++src)
    f.send({frame("many", "s" + std::to_string(src), 1, distinct(src))});
  f.take();
  for (int src = 0; src < 4; ++src)
    CHECK(std::holds_alternative<wire::ok>(f.answers.at(static_cast<std::size_t>(src)).msg));
  auto& e = as<wire::error_reply>(f.answers.at(4));
  CHECK(e.code == wire::error_code::overloaded);
  CHECK(e.field == "signals");
  CHECK(e.message.find("max_sum_signals") != std::string::npos);
  // A source of the channel may still send signals the sum already holds, and withdraw.
  f.send({frame("many", "s4", 2, {{"s0-1", 5}}), frame("many", "s0", 2, {})});
  f.take();
  CHECK(std::holds_alternative<wire::ok>(f.answers.at(5).msg));
  CHECK(std::holds_alternative<wire::ok>(f.answers.at(6).msg));

  // Bytes: 1,000 signals of 200-byte names take some 230 KB of a sum; the fifth source passes 1 MiB.
  auto wide = [](int src) {
    auto l = made_up_signals(1000, 200);
    for (auto& s : l)
      s.name[199] = static_cast<char>('a' + src);
    return l;
  };
  auto before = f.answers.size();
  for (int src = 0; src < 5; ++src)
    f.send({frame("wide", "w" + std::to_string(src), 1, wide(src))});
  f.take();
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(std::holds_alternative<wire::ok>(f.answers.at(before + i).msg));
  auto& e2 = as<wire::error_reply>(f.answers.at(before + 4));
  CHECK(e2.code == wire::error_code::overloaded);
  CHECK(e2.message.find("max_signal_sum_bytes") != std::string::npos);
  CHECK(f.stats().refused_sum == 2);

  // What is published fits what the bound promises.
  f.wait(interval_ms);
  f.take();
  f.subscribe("signal/wide");
  auto p = f.take();
  REQUIRE(p.sums.size() == 1);
  CHECK(p.sums[0].signals.size() == 4000);
  CHECK(wire::encode({0, p.sums[0]}).size() <= wire::max_signal_sum_bytes);
}

TEST_CASE("signal bus: the bytes kept over all sources are bounded; past the bound frames are refused and nothing kept is lost") {
  constexpr std::uint64_t bound = 200000;
  bus_fixture f(1000, bound);
  auto list = made_up_signals(100, 90); // some 10 KB a frame; the first on a channel adds 46 KB of sum entries
  std::size_t kept = 0;
  for (int i = 0; i < 20; ++i) {
    f.send({frame("c" + std::to_string(i % 3), "s" + std::to_string(i), 1, list)});
    f.take();
    if (std::holds_alternative<wire::ok>(f.answers.back().msg))
      ++kept;
  }
  f.take();
  CHECK(kept >= 3);
  CHECK(kept <= 8);
  auto s = f.stats();
  CHECK(s.kept_bytes <= bound);
  CHECK(s.refused_kept_bytes == 20 - kept);
  auto& e = as<wire::error_reply>(f.answers.back());
  CHECK(e.code == wire::error_code::overloaded);
  CHECK(e.message.find("max_signal_bytes") != std::string::npos);

  // What was kept is still there: a new subscriber gets every kept source's frame.
  f.subscribe("signal-src/");
  CHECK(f.take().frames.size() == kept);

  // A kept source may still send a frame of its size, and withdraw.
  f.send({frame("c0", "s0", 2, list), frame("c1", "s1", 2, {})});
  CHECK(f.take().frames.size() == 2);
  CHECK(std::holds_alternative<wire::ok>(f.answers.at(f.answers.size() - 2).msg));
  CHECK(std::holds_alternative<wire::ok>(f.answers.back().msg));

  // Silent sources give their bytes back, and their channels go with them (after their last
  // republications).
  for (int i = 0; i < 10; ++i)
    f.wait(1000);
  f.take();
  s = f.stats();
  CHECK(s.kept_bytes == 0);
  CHECK(s.channels.empty());
  f.send({frame("c0", "s19", 1, list)});
  CHECK(f.take().frames.size() == 1);
  CHECK(std::holds_alternative<wire::ok>(f.answers.back().msg));
}

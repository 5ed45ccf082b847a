// The signal bus against a real master: channel sums and their coalescing, the per-source topic
// (fan-out, order per source), snapshots for new subscribers, removal of silent sources, and who
// may publish or subscribe.

#include <set>
#include <thread>

#include "tests/master/helpers.hpp"
#include "tests/signals/helpers.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("each channel's sum reaches its subscribers, with the sources and seqs it holds, coalesced") {
  master_fixture m(false, "\"signal_min_interval_ms\":50");
  m.start();
  wire_client a(m.control_endpoint(), add_client(m, "pub-a", "publisher"));
  wire_client b(m.control_endpoint(), add_client(m, "pub-b", "publisher"));
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal/");
  bus_subscriber frames(m.bus_endpoint(), add_client(m, "frames", "subscriber"), "signal-src/");
  REQUIRE(publish_until_seen(a, frames, {"warm", "", 0, {{"signal-A", 1}}}, 1) != 0);
  // 100 frames from each of two publishers as fast as they are answered: far more changes than
  // 50 ms intervals. Each source's seq shows in the sum (signal-A is a's less one, signal-B is
  // b's), so only the last state sums to `final_sum`.
  auto t0 = mono_ms();
  for (std::uint64_t seq = 100; seq < 200; ++seq) {
    auto v = static_cast<std::int64_t>(seq);
    REQUIRE(std::holds_alternative<wire::ok>(a.call(wire::signal_frame{"sum", "", seq, {{"signal-A", v}, {"iron-plate", 1}}})->body));
    REQUIRE(std::holds_alternative<wire::ok>(b.call(wire::signal_frame{"sum", "w", seq, {{"signal-A", -1}, {"signal-B", v}, {"iron-plate", 2, "item", "rare"}}})->body));
  }
  auto elapsed = mono_ms() - t0;
  const wire::signal_list final_sum{{"iron-plate", 1}, {"iron-plate", 2, "item", "rare"}, {"signal-A", 198}, {"signal-B", 199}};
  std::size_t received = 0;
  auto last = wait_sum(sub, [&](const wire::signal_sum& s) {
    received += s.channel == "sum";
    return s.channel == "sum" && s.signals == final_sum;
  });
  REQUIRE(last);
  REQUIRE(last->sources.size() == 2);
  CHECK(last->sources[0].source == "pub-a");
  CHECK(last->sources[0].seq == 199);
  CHECK(last->sources[1].source == "pub-b/w");
  CHECK(last->sources[1].seq == 199);
  // Coalesced: the first change at once, then at most one sum a 50 ms interval, whatever came in.
  INFO(received << " sums in " << elapsed << " ms");
  CHECK(received <= 2 + elapsed / 50 + 1);
  // Quiet: the same sum once more, shortly after the last change.
  auto again = wait_sum(sub, [](const wire::signal_sum& s) { return s.channel == "sum"; }, 1s);
  REQUIRE(again);
  CHECK(again->generation == last->generation);
  CHECK(again->signals == final_sum);
}

TEST_CASE("a publisher's frames reach every subscriber of signal-src/, with the source set by the master") {
  master_fixture m;
  m.start();
  wire_client pub(m.control_endpoint(), add_client(m, "tool-pub", "publisher"));
  bus_subscriber sub1(m.bus_endpoint(), add_client(m, "watch1", "subscriber"), "signal-src/");
  bus_subscriber sub2(m.bus_endpoint(), add_client(m, "watch2", "subscriber"), "signal-src/alpha");
  wire::signal_frame f{"alpha", "", 0, {{"signal-A", 5}, {"iron-plate", -7}}};
  auto seq = publish_until_seen(pub, sub1, f, 1);
  REQUIRE(seq != 0);
  // sub2 sees the same frame (maybe later: its own slow join), with the master's source.
  auto got = wait_signal(sub2, [](const wire::signal_frame& x) { return x.channel == "alpha"; });
  REQUIRE(got);
  CHECK(got->source == "tool-pub");
  CHECK(got->signals == f.signals);

  // A source named by the sender is qualified with the sender's name.
  f.source = "world-3";
  f.seq = 1;
  REQUIRE(std::holds_alternative<wire::ok>(pub.call(f)->body));
  got = wait_signal(sub1, [](const wire::signal_frame& x) { return x.source == "tool-pub/world-3"; });
  REQUIRE(got);
  CHECK(got->seq == 1);
}

TEST_CASE("frames with a seq at or below the source's last are dropped; order per source holds") {
  master_fixture m;
  m.start();
  wire_client pub(m.control_endpoint(), add_client(m, "tool-pub", "publisher"));
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal-src/");
  REQUIRE(publish_until_seen(pub, sub, {"warm", "", 0, {{"signal-A", 1}}}, 1) != 0);

  for (std::uint64_t seq : {10, 3, 10, 11, 9, 12}) {
    auto r = pub.call(wire::signal_frame{"order", "", seq, {{"signal-A", static_cast<std::int64_t>(seq)}}});
    REQUIRE(r);
    CHECK(std::holds_alternative<wire::ok>(r->body)); // accepted for fan-out; the bus drops the stale ones
  }
  // A repeat of the latest frame (same seq) is allowed: the snapshot for a new subscription
  // republishes current frames to everyone, and receivers ignore a seq they have seen.
  std::vector<std::uint64_t> seen;
  while (auto f = wait_signal(sub, [](const wire::signal_frame& x) { return x.channel == "order"; }, 1500ms)) {
    if (!seen.empty() && f->seq == seen.back())
      continue;
    seen.push_back(f->seq);
    CHECK(f->signals.at(0).value == static_cast<std::int64_t>(f->seq));
  }
  CHECK(seen == std::vector<std::uint64_t>{10, 11, 12});
}

TEST_CASE("a new subscriber gets each channel's current sum, and on signal-src/ every source's frame (Clone snapshot)") {
  master_fixture m;
  m.start();
  wire_client a(m.control_endpoint(), add_client(m, "pub-a", "publisher"));
  wire_client b(m.control_endpoint(), add_client(m, "pub-b", "publisher"));
  bus_subscriber first(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal-src/");
  REQUIRE(publish_until_seen(a, first, {"state", "", 0, {{"signal-A", 1}}}, 1) != 0);
  REQUIRE(publish_until_seen(b, first, {"state", "", 0, {{"signal-B", 2}}}, 1) != 0);
  REQUIRE(std::holds_alternative<wire::ok>(b.call(wire::signal_frame{"other", "", 1, {{"signal-C", 3}}})->body));

  // Nobody publishes from here on; the late subscriber still learns both sources of "state".
  bus_subscriber late(m.bus_endpoint(), add_client(m, "late", "subscriber"), "signal-src/state");
  std::set<std::string> sources;
  while (sources.size() < 2) {
    auto f = wait_signal(late, [](const wire::signal_frame& x) { return x.channel == "state"; });
    REQUIRE(f);
    sources.insert(f->source);
  }
  CHECK(sources == std::set<std::string>{"pub-a", "pub-b"});

  bus_subscriber late_sum(m.bus_endpoint(), add_client(m, "late-sum", "subscriber"), "signal/state");
  auto sum = wait_sum(late_sum, [](const wire::signal_sum& s) { return s.channel == "state"; });
  REQUIRE(sum);
  CHECK(sum->sources.size() == 2);
  CHECK(sum->signals == wire::signal_list{{"signal-A", 1}, {"signal-B", 2}});
}

TEST_CASE("a silent source's contribution is removed after signal_source_timeout_ms") {
  master_fixture m(false, "\"signal_source_timeout_ms\":400");
  m.start();
  wire_client pub(m.control_endpoint(), add_client(m, "tool-pub", "publisher"));
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal-src/");
  auto seq = publish_until_seen(pub, sub, {"fade", "", 0, {{"signal-A", 1}}}, 1);
  REQUIRE(seq != 0);
  auto t0 = mono_ms();
  auto gone = wait_signal(sub, [](const wire::signal_frame& x) { return x.channel == "fade" && x.signals.empty(); }, 5s);
  REQUIRE(gone);
  CHECK(gone->source == "tool-pub");
  CHECK(gone->seq == seq + 1);
  CHECK(mono_ms() - t0 >= 300);
  // Forgotten: the source may start again from any seq (e.g. a restarted tool from 1).
  REQUIRE(publish_until_seen(pub, sub, {"fade", "", 0, {{"signal-A", 2}}}, 1) == 1);
}

TEST_CASE("a subscriber credential cannot publish; no credential cannot subscribe") {
  master_fixture m;
  m.start();
  wire_client watcher(m.control_endpoint(), add_client(m, "watcher", "subscriber"));
  auto e = expect_error(watcher, wire::signal_frame{"alpha", "", 1, {{"signal-A", 1}}}, wire::error_code::unauthorized);
  CHECK(e.message.find("signal") != std::string::npos);

  wire_client pub(m.control_endpoint(), add_client(m, "tool-pub", "publisher"));
  bus_subscriber with_cred(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal-src/");
  bus_subscriber plain(m.bus_endpoint(), std::nullopt, "");
  REQUIRE(publish_until_seen(pub, with_cred, {"alpha", "", 0, {{"signal-A", 1}}}, 1) != 0);
  for (std::uint64_t seq = 100; seq < 110; ++seq)
    REQUIRE(std::holds_alternative<wire::ok>(pub.call(wire::signal_frame{"alpha", "", seq, {{"signal-A", 2}}})->body));
  CHECK_FALSE(plain.recv(1500ms).has_value());
}

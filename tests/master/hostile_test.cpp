// Hostile clients against a real master (issue "Hostile clients", items 6-9): what a client
// sends can neither make a signal that receivers cannot read or never see cleared, nor make the
// master keep more signal bytes than its bounds, nor flood the master's log.

#include <cstdint>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "messages/limits.hpp"
#include "tests/master/helpers.hpp"
#include "tests/signals/helpers.hpp"
#include "tests/support/signal_lists.hpp"
#include "tests/support/hostile.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/process.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {

/// The lines of the master's log that contain `text`.
std::vector<std::string> log_lines_with(const master_fixture& m, const std::string& text) {
  std::vector<std::string> found;
  std::istringstream log(m.log());
  for (std::string line; std::getline(log, line);)
    if (line.find(text) != std::string::npos)
      found.push_back(line);
  return found;
}

/// The count N of the master's "...: N similar warnings about 'client' suppressed ..." lines
/// whose warning starts with `cause`, summed.
std::uint64_t suppressed_count(const master_fixture& m, const std::string& cause, const std::string& client) {
  std::uint64_t n = 0;
  for (auto& line : log_lines_with(m, " similar warnings about '" + client + "' suppressed")) {
    auto at = line.find(cause + ": ");
    if (at != std::string::npos)
      n += std::stoull(line.substr(at + cause.size() + 2));
  }
  return n;
}

} // namespace

TEST_CASE("200 frames of 819 KB are refused naming max_signal_frame_bytes, and the master does not keep them") {
  master_fixture m;
  m.start();
  wire_client pub(m.control_endpoint(), add_client(m, "flood", "publisher"));
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal-src/");
  REQUIRE(publish_until_seen(pub, sub, {"warm", "", 0, {{"signal-A", 1}}}, 1) != 0);
  auto before = resident_mib(m.pid());
  // 4,096 signals of 200-byte names, as many as a frame may hold: some 819 KB each.
  wire::signal_frame big{"nobody-listens", "", 1, long_signals(wire::max_list_entries, wire::max_name_bytes)};
  REQUIRE(wire::encode({1, big}).size() > 800000);
  for (int i = 0; i < 200; ++i) {
    big.source = "s" + std::to_string(i);
    auto e = expect_error(pub, big, wire::error_code::invalid);
    REQUIRE(e.field == "signals");
    REQUIRE(e.message.find("max_signal_frame_bytes") != std::string::npos);
  }
  auto after = resident_mib(m.pid());
  std::printf("master RSS %.0f MiB before 200 frames of 819 KB, %.0f after (peak %.0f)\n", before, after, peak_resident_mib(m.pid()));
  if (memory_is_measurable)
    CHECK(after - before < 40); // 200 kept frames would be 164 MB
  // None of them was published.
  CHECK_FALSE(wait_signal(sub, [](const wire::signal_frame& f) { return f.channel == "nobody-listens"; }, 500ms));
}

TEST_CASE("the signal frames kept over all sources are bounded by max_signal_bytes; past it frames are refused, nothing kept is lost") {
  constexpr std::uint64_t bound = 4u << 20;
  master_fixture m(false, "\"max_signal_bytes\":" + std::to_string(bound));
  m.start();
  wire_client pub(m.control_endpoint(), add_client(m, "flood", "publisher"));
  // Some 245 KB a frame, under a source's bound: about 12 fit in 4 MiB with the sum's entries.
  wire::signal_frame frame{"kept", "", 1, long_signals(1200, wire::max_name_bytes)};
  auto size = wire::encode({0, frame}).size();
  REQUIRE(size < wire::max_signal_frame_bytes);
  std::set<std::string> kept;
  int refused = 0;
  for (int i = 0; i < 30; ++i) {
    frame.source = "s" + std::to_string(i);
    auto r = pub.call(frame);
    REQUIRE(r);
    if (std::holds_alternative<wire::ok>(r->body)) {
      kept.insert("flood/" + frame.source);
      continue;
    }
    auto& e = std::get<wire::error_reply>(r->body);
    CHECK(e.code == wire::error_code::overloaded);
    CHECK(e.message.find("max_signal_bytes") != std::string::npos);
    ++refused;
  }
  // Each source is counted as its frame, its name, 256 bytes and 16 a signal; the sum's 1,200
  // entries (the same names in every frame) once.
  CHECK(kept.size() * size <= bound);
  CHECK(kept.size() >= (bound - 1200 * (2 * 212 + 256)) / (size + 1200 * 16 + 256 + 8) - 1);
  CHECK(refused == 30 - static_cast<int>(kept.size()));
  // A source already kept may still send (a frame no larger) and withdraw.
  frame.source = "s0";
  frame.seq = 2;
  expect_reply<wire::ok>(pub, frame);

  // Every kept frame is still there: a new subscriber gets them all.
  bus_subscriber late(m.bus_endpoint(), add_client(m, "late", "subscriber"), "signal-src/kept");
  std::set<std::string> seen;
  for (int i = 0; i < 100 && seen.size() < kept.size(); ++i)
    if (auto f = wait_signal(late, [](const wire::signal_frame& f) { return f.channel == "kept"; }, 100ms))
      seen.insert(f->source);
  CHECK(seen == kept);
}

TEST_CASE("a signal source the master accepts reaches receivers whole; a longer one is refused naming source") {
  master_fixture m;
  m.start();
  // The longest client name there is: the source on the bus is `<name>/<source>`.
  std::string name(wire::max_label_bytes, 'p');
  wire_client pub(m.control_endpoint(), add_client(m, name, "publisher"));
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal-src/");
  REQUIRE(publish_until_seen(pub, sub, {"warm", "", 0, {{"signal-A", 1}}}, 1) != 0);

  wire::signal_frame longest{"long", std::string(wire::max_signal_source_bytes, 's'), 1, {{"signal-A", 2}}};
  auto over = longest;
  over.source += 's';
  auto e = expect_error(pub, over, wire::error_code::invalid);
  CHECK(e.field == "source");

  expect_reply<wire::ok>(pub, longest);
  auto got = wait_signal(sub, [](const wire::signal_frame& f) { return f.channel == "long"; });
  REQUIRE(got);
  CHECK(got->source == name + "/" + longest.source);
  CHECK(got->source.size() == wire::max_text_bytes);
}

TEST_CASE("the brief's case: a 1,021-byte source from 'pub' is refused, not published unreadable") {
  master_fixture m;
  m.start();
  wire_client pub(m.control_endpoint(), add_client(m, "pub", "publisher"));
  auto e = expect_error(pub, wire::signal_frame{"long", std::string(1021, 's'), 1, {{"signal-A", 2}}}, wire::error_code::invalid);
  CHECK(e.field == "source");
}

TEST_CASE("seq 2^64-1 is refused naming seq; the largest seq accepted still expires where receivers see it") {
  master_fixture m(false, "\"signal_source_timeout_ms\":300");
  m.start();
  wire_client pub(m.control_endpoint(), add_client(m, "pub", "publisher"));
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal-src/");
  REQUIRE(publish_until_seen(pub, sub, {"warm", "", 0, {{"signal-A", 1}}}, 1) != 0);

  auto e = expect_error(pub, wire::signal_frame{"last", "", UINT64_MAX, {{"signal-A", 1}}}, wire::error_code::invalid);
  CHECK(e.field == "seq");

  expect_reply<wire::ok>(pub, wire::signal_frame{"last", "", wire::max_signal_seq, {{"signal-A", 1}}});
  auto set = wait_signal(sub, [](const wire::signal_frame& f) { return f.channel == "last" && !f.signals.empty(); });
  REQUIRE(set);
  CHECK(set->seq == wire::max_signal_seq);
  // Silent for longer than the timeout: the master clears it with a frame above its last seq.
  auto gone = wait_signal(sub, [](const wire::signal_frame& f) { return f.channel == "last" && f.signals.empty(); });
  REQUIRE(gone);
  CHECK(gone->source == "pub");
  CHECK(gone->seq > set->seq);
}

TEST_CASE("2,000 bad frames from a subscriber log a few lines and how many were suppressed") {
  master_fixture m;
  m.start();
  wire_client noisy(m.control_endpoint(), add_client(m, "noisy", "subscriber"));
  constexpr std::size_t bad_frames = 2000;
  CHECK(send_bad_frames(noisy, bad_frames) == bad_frames); // each one is still answered
  m.stop(); // what was suppressed is reported at the latest when the master stops

  auto logged = log_lines_with(m, "bad frame from 'noisy'").size();
  INFO(m.log().substr(0, 4000));
  CHECK(logged >= 1);
  CHECK(logged <= 10);
  CHECK(suppressed_count(m, "gateway: bad frame", "noisy") == bad_frames - logged);
}

TEST_CASE("unknown CURVE keys knocking again and again log a few lines and how many were suppressed") {
  master_fixture m;
  m.start();
  auto known = m.add_client("known", "subscriber");
  constexpr std::size_t strangers_count = 40;
  knock_with_unknown_keys(m.control_endpoint(), known, strangers_count, 1500ms);
  m.stop();

  auto logged = log_lines_with(m, "refused unknown CURVE key").size();
  INFO(m.log().substr(0, 4000));
  CHECK(logged >= 1);
  CHECK(logged <= 10);
  CHECK(suppressed_count(m, "gateway: unknown CURVE key", "127.0.0.1") >= strangers_count - logged);
}

TEST_CASE("a slave confirming another instance's grant 2,000 times logs a few lines, and the grant stays its holder's") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), add_client(m, "slave1", "slave"));
  auto holder = expect_reply<wire::registered>(slave, wire::register_instance{"holder", ""}).instance_id;
  auto other = expect_reply<wire::registered>(slave, wire::register_instance{"other", ""}).instance_id;
  expect_reply<wire::export_ack>(slave, wire::export_batch{holder, 1, 1, {{"iron-plate", 10}}});
  auto granted = expect_reply<wire::grant_reply>(slave, wire::request_items{holder, {{"iron-plate", 4}}});
  REQUIRE(granted.grants.size() == 1);
  auto id = granted.grants[0].grant_id;
  constexpr std::size_t confirms = 2000;
  auto replies = call_pipelined(slave, confirms, [&](std::size_t) { return wire::confirm_grants{other, {id}, {}}; }, 100);
  for (auto& r : replies) {
    REQUIRE(r);
    REQUIRE(std::holds_alternative<wire::confirm_ack>(r->body));
    CHECK(std::get<wire::confirm_ack>(r->body).released.empty()); // not its grant: left alone
  }
  // The holder still cancels it: the 4 plates go back to storage.
  auto ack = expect_reply<wire::confirm_ack>(slave, wire::confirm_grants{holder, {}, {id}});
  CHECK(ack.released == std::vector<std::uint64_t>{id});
  m.stop();

  auto logged = log_lines_with(m, "confirmed 1 grant(s) of other instances").size();
  INFO(m.log().substr(0, 4000));
  CHECK(logged >= 1);
  CHECK(logged <= 10); // on main: one line each, 2,000
  CHECK(suppressed_count(m, "storage: confirm of another instance's grants", "instance " + std::to_string(other)) == confirms - logged);
}

TEST_CASE("an instance holds at most max_outstanding_grants unconfirmed grants, so that its resync reply always fits") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), add_client(m, "hoarder", "slave"));
  auto inst = expect_reply<wire::registered>(slave, wire::register_instance{"hoarder", ""}).instance_id;
  // 4,096 names of 200 bytes, 5 of each: every request of one of each makes 4,096 grants.
  wire::item_list stock, one_each;
  for (std::size_t i = 0; i < wire::max_list_entries; ++i) {
    auto name = std::to_string(i) + std::string(wire::max_name_bytes - std::to_string(i).size(), 'g');
    stock.push_back({name, 5});
    one_each.push_back({name, 1});
  }
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 1, 1, stock});
  constexpr auto rounds = wire::max_outstanding_grants / wire::max_list_entries;
  std::vector<std::uint64_t> first_round;
  for (std::size_t r = 0; r < rounds; ++r) {
    auto g = expect_reply<wire::grant_reply>(slave, wire::request_items{inst, one_each}, 20s);
    REQUIRE(g.grants.size() == wire::max_list_entries);
    if (r == 0)
      for (auto& x : g.grants)
        first_round.push_back(x.grant_id);
  }
  // One more is refused whole, naming the bound; the stock is untouched.
  auto refused = expect_error(slave, wire::request_items{inst, {one_each.front()}}, wire::error_code::overloaded);
  CHECK_THAT(refused.message, Catch::Contains("max_outstanding_grants"));
  // Every unconfirmed grant comes back in one resync reply, within what a client accepts.
  auto r = slave.call(wire::resync{inst}, 20s);
  REQUIRE(r);
  REQUIRE(std::holds_alternative<wire::pending_grants>(r->body));
  CHECK(std::get<wire::pending_grants>(r->body).grants.size() == wire::max_outstanding_grants);
  CHECK(wire::encode(*r).size() <= wire::max_frame_bytes);
  // Once the world confirms what it applied, it may ask again.
  expect_reply<wire::confirm_ack>(slave, wire::confirm_grants{inst, first_round, {}}, 20s);
  auto again = expect_reply<wire::grant_reply>(slave, wire::request_items{inst, {one_each.front()}}, 20s);
  CHECK(again.grants.size() == 1);
}

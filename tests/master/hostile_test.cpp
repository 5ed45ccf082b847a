// Hostile clients against a real master (issue "Hostile clients", items 7-9): what a client
// sends can neither make a signal that receivers cannot read or never see cleared, nor flood
// the master's log.

#include <cstdint>
#include <sstream>
#include <thread>
#include <vector>

#include "messages/limits.hpp"
#include "tests/master/helpers.hpp"
#include "tests/signals/helpers.hpp"
#include "tests/support/hostile.hpp"
#include "tests/support/master_fixture.hpp"

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

TEST_CASE("a signal source the master accepts reaches receivers whole; a longer one is refused naming source") {
  master_fixture m;
  m.start();
  // The longest client name there is: the source on the bus is `<name>/<source>`.
  std::string name(wire::max_label_bytes, 'p');
  wire_client pub(m.control_endpoint(), add_client(m, name, "publisher"));
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal/");
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
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "watch", "subscriber"), "signal/");
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

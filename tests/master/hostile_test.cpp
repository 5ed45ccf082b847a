// Hostile clients against a real master (issue "Hostile clients", items 8-9): what a client
// sends cannot make a signal that receivers cannot read or never see cleared.

#include <cstdint>

#include "messages/limits.hpp"
#include "tests/master/helpers.hpp"
#include "tests/signals/helpers.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

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

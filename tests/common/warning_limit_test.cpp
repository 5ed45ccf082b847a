// The limit on warnings (common/warning_limit.cpp) on a clock the test moves: a few lines per
// client and cause per minute, then one line with the count of the rest; clients and causes
// apart; and a table that stays within its bound.

#include <catch2/catch.hpp>

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "common/warning_limit.hpp"
#include "tests/support/manual_clock.hpp"

using namespace clusterio;

namespace {

/// Whatever is logged while it lives, as text.
struct captured_log {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> before = spdlog::default_logger();
  captured_log() {
    auto logger = std::make_shared<spdlog::logger>("captured", std::make_shared<spdlog::sinks::ostream_sink_st>(text));
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  ~captured_log() { spdlog::set_default_logger(before); }
  /// What was logged since the last take.
  std::string take() {
    auto s = text.str();
    text.str({});
    return s;
  }
};

/// How many of `n` warnings about `client` for `cause` are admitted, the clock standing still.
int admitted(warning_limit& limit, const std::string& client, const std::string& cause, int n) {
  int yes = 0;
  for (int i = 0; i < n; ++i)
    yes += limit.admit(client, cause) ? 1 : 0;
  return yes;
}

} // namespace

TEST_CASE("a few warnings per client and cause a minute, then one line with the count of the rest") {
  captured_log log;
  test::manual_clock time;
  warning_limit limit(time);
  CHECK(admitted(limit, "a", "gateway: bad frame", 1000) == static_cast<int>(warning_limit::default_lines_per_window));
  limit.report_suppressed();
  CHECK(log.take().empty()); // the minute is not over

  time.advance(warning_limit::window_ms);
  limit.report_suppressed();
  CHECK(log.take() == "gateway: bad frame: 995 similar warnings about 'a' suppressed in the last 60 s\n");
  CHECK(limit.keys() == 0); // a window reported is forgotten

  // A new minute: a few lines again; a window that suppressed nothing reports nothing.
  CHECK(admitted(limit, "a", "gateway: bad frame", 3) == 3);
  time.advance(warning_limit::window_ms);
  limit.report_suppressed();
  CHECK(log.take().empty());
}

TEST_CASE("a warning after its minute is over reports the count at once and starts a new minute") {
  captured_log log;
  test::manual_clock time;
  warning_limit limit(time);
  admitted(limit, "a", "gateway: bad frame", 10);
  time.advance(warning_limit::window_ms + 5000);
  CHECK(limit.admit("a", "gateway: bad frame"));
  CHECK(log.take() == "gateway: bad frame: 5 similar warnings about 'a' suppressed in the last 65 s\n");
  CHECK(admitted(limit, "a", "gateway: bad frame", 10) == static_cast<int>(warning_limit::default_lines_per_window) - 1);
}

TEST_CASE("clients and causes are limited apart") {
  captured_log log;
  test::manual_clock time;
  warning_limit limit(time);
  auto few = static_cast<int>(warning_limit::default_lines_per_window);
  CHECK(admitted(limit, "a", "gateway: bad frame", 100) == few);
  CHECK(admitted(limit, "b", "gateway: bad frame", 100) == few);
  CHECK(admitted(limit, "a", "gateway: unknown CURVE key", 100) == few);
  CHECK(limit.keys() == 3);
}

TEST_CASE("the table stays within its bound: windows over are forgotten, else all are, each after its count") {
  captured_log log;
  test::manual_clock time;
  warning_limit limit(time, warning_limit::default_lines_per_window, 3);
  admitted(limit, "a", "c", 7);
  time.advance(warning_limit::window_ms);
  admitted(limit, "b", "c", 1);
  admitted(limit, "d", "c", 1);
  CHECK(limit.keys() == 3);
  admitted(limit, "e", "c", 1); // a's minute is over: a goes, with its count
  CHECK(limit.keys() == 3);
  CHECK(log.take() == "c: 2 similar warnings about 'a' suppressed in the last 60 s\n");

  admitted(limit, "b", "c", 10);
  admitted(limit, "f", "c", 1); // all within their minute: all go, with their counts
  CHECK(limit.keys() == 1);
  CHECK(log.take() == "c: 6 similar warnings about 'b' suppressed in the last 0 s\n");
  CHECK(admitted(limit, "b", "c", 10) == static_cast<int>(warning_limit::default_lines_per_window));
}

TEST_CASE("what is still counted is reported when the limit goes (the master stopping)") {
  captured_log log;
  test::manual_clock time;
  {
    warning_limit limit(time);
    admitted(limit, "a", "gateway: bad frame", 8);
    time.advance(1500);
  }
  CHECK(log.take() == "gateway: bad frame: 3 similar warnings about 'a' suppressed in the last 2 s\n");
}

TEST_CASE("a limit of one line a minute: a warning that repeats with every report") {
  captured_log log;
  test::manual_clock time;
  warning_limit limit(time, 1);
  CHECK(admitted(limit, "host-a", "refused", 30) == 1);
  CHECK(admitted(limit, "host-b", "refused", 30) == 1);
  time.advance(warning_limit::window_ms);
  CHECK(limit.admit("host-a", "refused"));
  CHECK(log.take() == "refused: 29 similar warnings about 'host-a' suppressed in the last 60 s\n");
}

#pragma once
// Helpers shared by the signal tests: waiting for a bus message that matches.

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <optional>

#include "common/clock.hpp"
#include "client/wire_client.hpp"
#include "tests/support/master_fixture.hpp"

namespace clusterio::test {

/// add_client, retried: the master's database can be briefly locked ("database is locked" when
/// the CLI opens it while the master writes), which is not what these tests are about.
inline credential add_client(master_fixture& m, const std::string& name, const std::string& role) {
  for (int attempt = 1;; ++attempt) {
    try {
      return m.add_client(name, role);
    } catch (const std::runtime_error&) {
      if (attempt == 5)
        throw;
    }
  }
}

/// Receives bus messages until one of type T (a signal_frame from signal-src/, a signal_sum
/// from signal/) matching `want` arrives or `timeout` passes.
template <class T>
std::optional<T> wait_bus(bus_subscriber& sub, const std::function<bool(const T&)>& want, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = mono_ms() + static_cast<std::uint64_t>(timeout.count());
  while (mono_ms() < deadline) {
    auto m = sub.recv(std::chrono::milliseconds(deadline - mono_ms()));
    if (!m)
      break;
    if (auto* f = std::get_if<T>(&m->second.body); f && want(*f))
      return *f;
  }
  return std::nullopt;
}
inline std::optional<wire::signal_frame> wait_signal(bus_subscriber& sub, const std::function<bool(const wire::signal_frame&)>& want,
                                                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return wait_bus<wire::signal_frame>(sub, want, timeout);
}
inline std::optional<wire::signal_sum> wait_sum(bus_subscriber& sub, const std::function<bool(const wire::signal_sum&)>& want,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return wait_bus<wire::signal_sum>(sub, want, timeout);
}

/// Publishes `frame` (seq increasing from `seq`) until `sub` (subscribed to signal-src/) sees it:
/// the slow-joiner wait of a fresh SUB socket. Returns the seq that got through, 0 if none did
/// within ~5 s.
inline std::uint64_t publish_until_seen(wire_client& pub, bus_subscriber& sub, wire::signal_frame frame, std::uint64_t seq) {
  for (int attempt = 0; attempt < 25; ++attempt, ++seq) {
    frame.seq = seq;
    auto r = pub.call(frame);
    REQUIRE(r.has_value());
    REQUIRE(std::holds_alternative<wire::ok>(r->body));
    auto s = seq;
    auto ch = frame.channel;
    if (wait_signal(sub, [s, ch](const wire::signal_frame& f) { return f.channel == ch && f.seq == s; }, std::chrono::milliseconds(200)))
      return seq;
  }
  return 0;
}

} // namespace clusterio::test

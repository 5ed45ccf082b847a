#pragma once
// The time an instance's actors (supervisor and bridge) read, injected so that in-process tests
// drive it (tests/actors/slave/bridge_test.cpp).

#include <cstdint>
#include <functional>

#include "common/clock.hpp"

namespace clusterio {

struct instance_clock {
  std::function<std::uint64_t()> mono_ms;  ///< monotonic ms: timeouts, intervals and rates
  std::function<std::uint64_t()> epoch_ms; ///< Unix epoch ms: signal sequence numbers, the mod's signal-unixtime

  /// The host's clocks (common/clock.hpp).
  static instance_clock system() { return {[] { return clusterio::mono_ms(); }, [] { return clusterio::epoch_ms(); }}; }
};

} // namespace clusterio

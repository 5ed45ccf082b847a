#pragma once
#include <chrono>
#include <cstdint>

namespace clusterio {

/// Unix epoch milliseconds (wall clock: for timestamps shown to people and tools).
inline std::uint64_t epoch_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

/// Monotonic milliseconds (for timeouts and rates).
inline std::uint64_t mono_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

/// Where an actor reads the time: the machine's clocks in the programs, a clock the test moves
/// in tests. Both readings come from one object so that a test moves them together.
class clock {
public:
  virtual ~clock() = default;
  /// Monotonic milliseconds (timeouts, rates).
  virtual std::uint64_t mono_ms() const = 0;
  /// Unix epoch milliseconds (timestamps, statistics minutes).
  virtual std::uint64_t epoch_ms() const = 0;
};

/// The machine's clocks (steady_clock and system_clock).
inline const clock& machine_clock() {
  struct machine final : clock {
    std::uint64_t mono_ms() const override { return clusterio::mono_ms(); }
    std::uint64_t epoch_ms() const override { return clusterio::epoch_ms(); }
  };
  static const machine instance;
  return instance;
}

} // namespace clusterio

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

} // namespace clusterio

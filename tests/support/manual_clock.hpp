#pragma once
// The clock in-process actor tests inject (common/clock.hpp): it stands still until the test
// moves it, and both readings move together.

#include <cstdint>

#include "common/clock.hpp"

namespace clusterio::test {

class manual_clock final : public clock {
public:
  manual_clock() = default;
  manual_clock(std::uint64_t mono, std::uint64_t epoch) : mono_(mono), epoch_(epoch) {}
  std::uint64_t mono_ms() const override { return mono_; }
  std::uint64_t epoch_ms() const override { return epoch_; }
  void advance(std::uint64_t ms) {
    mono_ += ms;
    epoch_ += ms;
  }
  /// Sets the wall clock (the monotonic one never goes back).
  void set_epoch(std::uint64_t ms) { epoch_ = ms; }

private:
  std::uint64_t mono_ = 1000;
  std::uint64_t epoch_ = 1'800'000'000'000; // 2027-01-15, a whole second
};

} // namespace clusterio::test

#pragma once
// Arithmetic on signal lists as circuit wires do it: per signal (its full id), int32 wrapping,
// zeros left out. The receivers' side of `signal_sum` (signal.hpp): a world that also transmits
// on a channel outputs the sum less its own frame.

#include <cstdint>
#include <vector>

#include "signal.hpp"

namespace clusterio::wire {

/// A signal's value after int32 arithmetic, as Factorio's wires add.
inline std::int64_t wrap_int32(std::int64_t v) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
}

/// The sum of the lists, per signal, wrapped to int32; nonzero signals only, sorted by
/// signal_key (as the master lists a sum).
signal_list sum_of(const std::vector<const signal_list*>& lists);

/// `sum` less `own`, per signal, wrapped to int32; nonzero signals only, sorted by signal_key.
/// Exact for any sum that holds `own`: int32 wrapping is arithmetic modulo 2^32.
signal_list subtract(const signal_list& sum, const signal_list& own);

/// The seq of `source`'s frame that `sum` holds, or none when the sum does not include it.
const signal_source* find_source(const signal_sum& sum, const std::string& source);

} // namespace clusterio::wire

#pragma once
// Joining the parts of the `inventory` messages the bus carries (inventory.hpp: more than
// max_bus_levels levels come as `parts` messages, one after the other).

#include <cstddef>
#include <optional>

#include "inventory.hpp"

namespace clusterio::wire {

/// Turns the `inventory` messages of the bus, in the order they arrive, into what a receiver
/// applies: each part of a change at once (it stands alone), and a full snapshot only once its
/// last part has arrived, as one message. A full snapshot with a part missing (ZeroMQ drops
/// messages for a slow subscriber) is dropped whole: applying it would zero the levels of the
/// missing part; the next snapshot replaces it.
class inventory_joiner {
public:
  std::optional<inventory_levels> add(inventory_levels in);
  /// Full snapshots dropped for a missing part so far.
  std::size_t dropped() const { return dropped_; }

private:
  std::optional<inventory_levels> joining_; ///< the parts of a full snapshot so far
  std::size_t dropped_ = 0;
};

} // namespace clusterio::wire

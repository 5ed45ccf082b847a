#pragma once
// The signal bus actor: circuit signals between worlds and tools (Clone pattern, zguide ch. 5).
//
// The gateway sends it every accepted `signal` frame, with `source` already set from the
// sender's identity. Per channel it keeps the latest frame of each source:
//   - a frame whose seq is <= the last seq seen from its source is dropped (order per source
//     is preserved: the gateway forwards one peer's frames in arrival order);
//   - an accepted frame is stored and published on the bus topic `signal/<channel>`;
//   - a source silent for longer than `source_timeout_ms` has its contribution removed: the
//     bus publishes an empty frame for it (seq = last + 1) and forgets it;
//   - when the bus socket sees a new subscription that covers `signal/...` topics, the bus
//     republishes the latest non-empty frame of every source on the matching channels, so that
//     a new receiver learns the current state (requests are coalesced for `snapshot_delay`).
// "Never echo to the sender": every frame carries its source; a receiver skips the frames whose
// source is its own name or starts with "<its name>/".
//
// Messages it takes (atoms in jobs.hpp):
//   (signal_atom, wire::signal_frame)        from the gateway
//   (sig_snap_atom, std::string prefix)      a bus subscription to `prefix` arrived
//   (sig_stats_atom) -> signal_bus_stats     counters, for /metrics (request with a timeout)
//   (tick_atom)                              expiry sweep (self)

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

namespace clusterio {

class outbox;

struct signal_bus_config {
  std::uint64_t source_timeout_ms = 10000; ///< a silent source's contribution is removed after this
  std::function<std::uint64_t()> clock;    ///< monotonic ms; empty: the steady clock (tests inject one)
  bool own_thread = true;                  ///< detached; false: on the scheduler (deterministic tests)
};

/// Counters of one channel since the master started.
struct signal_channel_stats {
  std::string channel;
  std::uint64_t accepted = 0; ///< frames published
  std::uint64_t dropped = 0;  ///< frames refused: seq not above the source's last, or too many sources
  std::uint64_t expired = 0;  ///< sources removed after the timeout
  std::uint64_t sources = 0;  ///< sources currently known on the channel
};

/// Reply to (sig_stats_atom): one entry per channel ever seen, sorted by channel.
struct signal_bus_stats {
  std::vector<signal_channel_stats> channels;
};

/// Spawns the bus, by default on its own thread (detached: its latency does not depend on the
/// scheduler).
caf::actor spawn_signal_bus(caf::actor_system& sys, const signal_bus_config& cfg, outbox& out);

} // namespace clusterio

#pragma once
// The signal bus actor: circuit signals between worlds and tools, latest state per source with a
// snapshot for each new subscriber (docs/protocol.md, signals).
//
// The gateway sends it every `signal` frame it routed, with `source` already set from the
// sender's identity, and the bus answers each. Per channel it keeps the latest frame of each
// source:
//   - a frame whose seq is <= the last seq seen from its source is dropped and answered `ok`
//     (order per source is preserved: the gateway forwards one peer's frames in arrival order);
//   - a frame longer than wire::max_signal_frame_bytes as published is refused (`invalid`), and
//     one that would take the bytes kept over all sources past `max_kept_bytes` is refused
//     (`overloaded`): nothing of it is kept or published, and nothing kept is lost;
//   - an accepted frame is stored, published on the bus topic `signal/<channel>` and answered `ok`;
//   - a source silent for longer than `source_timeout_ms` has its contribution removed: the
//     bus publishes an empty frame for it (seq = last + 1) and forgets it, and a channel left
//     without sources is forgotten too;
//   - when the bus socket sees a new subscription that covers `signal/...` topics, the bus
//     republishes the latest non-empty frame of every source on the matching channels, so that
//     a new receiver learns the current state (requests are coalesced for `snapshot_delay`).
// "Never echo to the sender": every frame carries its source; a receiver skips the frames whose
// source is its own name or starts with "<its name>/".

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/master/jobs.hpp"
#include "common/clock.hpp"

namespace clusterio {

class outbox;

struct signal_bus_config {
  std::uint64_t source_timeout_ms = 10000; ///< a silent source's contribution is removed after this
  /// Bytes kept over all sources and channels: each source's latest frame as published, its
  /// name, and what the bus's tables spend on it (signal_bus.cpp). A frame past it is refused.
  std::uint64_t max_kept_bytes = 64u << 20;
  const clock* time = &machine_clock();    ///< when a source was last heard
  bool own_thread = true;                  ///< detached; false: on the scheduler (deterministic tests)
};

/// Counters of one channel since the master started.
struct signal_channel_stats {
  std::string channel;
  std::uint64_t accepted = 0; ///< frames published
  std::uint64_t dropped = 0;  ///< frames not published: seq not above the source's last
  std::uint64_t expired = 0;  ///< sources removed after the timeout
  std::uint64_t sources = 0;  ///< sources currently known on the channel
};

/// Reply to (sig_stats_atom).
struct signal_bus_stats {
  std::vector<signal_channel_stats> channels; ///< one per channel with sources, sorted by channel
  std::uint64_t kept_bytes = 0;               ///< what the bus keeps now (see max_kept_bytes)
  std::uint64_t refused_frame_bytes = 0;      ///< frames refused: longer than wire::max_signal_frame_bytes
  std::uint64_t refused_kept_bytes = 0;       ///< frames refused: they would take kept_bytes past max_kept_bytes
};

using signal_atom = caf::atom_constant<caf::atom("cl_signal")>;
using sig_snap_atom = caf::atom_constant<caf::atom("cl_sigsnap")>;
using sig_flush_atom = caf::atom_constant<caf::atom("cl_sigflsh")>;
using sig_stats_atom = caf::atom_constant<caf::atom("cl_sigstat")>;

using signal_bus_actor = caf::typed_actor<
  /// From the gateway: one sweep's frames, in arrival order; each is answered through the outbox.
  caf::reacts_to<signal_atom, signal_jobs>,
  /// From the gateway: a bus subscription to this prefix arrived.
  caf::reacts_to<sig_snap_atom, std::string>,
  /// To itself, snapshot_delay after a subscription: republish for the prefixes gathered.
  caf::reacts_to<sig_flush_atom>,
  /// From the web server: counters, for /metrics.
  caf::replies_to<sig_stats_atom>::with<signal_bus_stats>,
  /// To itself: the expiry sweep.
  caf::reacts_to<tick_atom>>;

/// Spawns the bus (by default detached: its latency does not depend on the scheduler).
signal_bus_actor spawn_signal_bus(caf::actor_system& sys, const signal_bus_config& cfg, outbox& out);

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::signal_bus_stats)

#pragma once
// The signal bus actor: circuit signals between worlds and tools. It keeps each source's latest
// frame and each channel's sum, and publishes the sum: the bus carries the state receivers need,
// not the stream of frames (docs/protocol.md §9).
//
// The gateway sends it every `signal` frame it routed, with `source` already set from the
// sender's identity, and the bus answers each. Per channel:
//   - a frame whose seq is <= the last seq seen from its source is dropped and answered `ok`
//     (order per source is preserved: the gateway forwards one peer's frames in arrival order);
//   - a frame longer than wire::max_signal_frame_bytes as published is refused (`invalid`); one
//     that would take the channel's sum past max_sum_signals, max_sum_sources or
//     max_signal_sum_bytes, or the bytes kept over all sources past `max_kept_bytes`, is refused
//     (`overloaded`): nothing of it is kept or published, and nothing kept is lost;
//   - an accepted frame replaces its source's in the channel's sum, is published on
//     `signal-src/<channel>` (for tools that want every frame) and answered `ok`;
//   - a changed sum is published on `signal/<channel>` (a wire::signal_sum) at once if the
//     channel's last publication is at least `min_interval_ms` old (longer for a large sum: a
//     channel sends each subscriber at most about 1 MB/s), else at the end of that interval with
//     every change since: a channel costs at most one publication per interval however many
//     sources it has;
//   - ZeroMQ may drop for a slow subscriber, so a sum is published once more
//     `quiet_republish_ms` after its last change, and every `republish_ms` while the channel
//     exists;
//   - a source silent for longer than `source_timeout_ms` has its contribution removed (an
//     empty frame for it on signal-src/, seq = last + 1, and a new sum); a channel left without
//     sources is published empty a few more times, then forgotten;
//   - a new bus subscription covering signal topics gets the current sums (signal/) or frames
//     (signal-src/) of the channels it covers (requests coalesced for `snapshot_delay`).
// "Never echo to the sender": a sum lists each source with the seq of its frame it holds; a
// receiver that also transmits subtracts its own frame of that seq.

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
  std::uint64_t min_interval_ms = 5;       ///< at most one sum per channel per interval (coalescing)
  std::uint64_t quiet_republish_ms = 100;  ///< a sum is published again this long after its last change
  std::uint64_t republish_ms = 2000;       ///< and this often while its channel has sources
  const clock* time = &machine_clock();    ///< when a source was last heard
  bool own_thread = true;                  ///< detached; false: on the scheduler (deterministic tests)
};

/// Counters of one channel since the master started.
struct signal_channel_stats {
  std::string channel;
  std::uint64_t accepted = 0; ///< frames taken into the sum (and published on signal-src/)
  std::uint64_t published = 0; ///< sums published (changes, republications, snapshots)
  std::uint64_t dropped = 0;  ///< frames not published: seq not above the source's last
  std::uint64_t expired = 0;  ///< sources removed after the timeout
  std::uint64_t sources = 0;  ///< sources currently known on the channel
  std::uint64_t sum_signals = 0; ///< distinct signals in the channel's sum
};

/// Reply to (sig_stats_atom).
struct signal_bus_stats {
  std::vector<signal_channel_stats> channels; ///< one per channel with sources, sorted by channel
  std::uint64_t kept_bytes = 0;               ///< what the bus keeps now (see max_kept_bytes)
  std::uint64_t refused_frame_bytes = 0;      ///< frames refused: longer than wire::max_signal_frame_bytes
  std::uint64_t refused_kept_bytes = 0;       ///< frames refused: they would take kept_bytes past max_kept_bytes
  std::uint64_t refused_sum = 0;              ///< frames refused: their channel's sum would pass a max_sum_* bound
};

using signal_atom = caf::atom_constant<caf::atom("cl_signal")>;
using sig_snap_atom = caf::atom_constant<caf::atom("cl_sigsnap")>;
using sig_flush_atom = caf::atom_constant<caf::atom("cl_sigflsh")>;
using sig_stats_atom = caf::atom_constant<caf::atom("cl_sigstat")>;
using sig_due_atom = caf::atom_constant<caf::atom("cl_sigdue")>;

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
  caf::reacts_to<tick_atom>,
  /// To itself: a channel's coalesced or repeated sum is due (at the time given, the timer's).
  caf::reacts_to<sig_due_atom, std::uint64_t>>;

/// Spawns the bus (by default detached: its latency does not depend on the scheduler).
signal_bus_actor spawn_signal_bus(caf::actor_system& sys, const signal_bus_config& cfg, outbox& out);

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::signal_bus_stats)

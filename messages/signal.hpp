#pragma once
// Circuit signals between worlds and tools.
//
//   slave/publisher -> master   signal                -> ok   (the master sums it in)
//   master bus                  signal/<channel>      a signal_sum: the channel's current sum
//   master bus                  signal-src/<channel>  a signal_frame: each source's frame (opt-in)
//
// The codec reads both directions alike, but the master makes the bus frame of a client's frame
// (its name before `source`; seq + 1 to clear a silent source), so a client may send less than
// the bus carries: `source` up to max_signal_source_bytes, `seq` up to max_signal_seq. The
// master checks those after decoding (control/routing.cpp) and answers `invalid` naming the field.

#include "field.hpp"
#include "limits.hpp"

namespace clusterio::wire {

/// The complete set of signals one source currently transmits on one channel. A receiver
/// outputs, per channel, the sum over sources of each source's latest frame. An empty list
/// withdraws the source's contribution.
struct signal_frame {
  static constexpr const char* type = "signal";
  std::string channel;   ///< label
  std::string source;    ///< text: set by the master, `<client>/<source>`; sent: max_signal_source_bytes
  std::uint64_t seq = 0; ///< per source, increasing; older frames are dropped; sent: max_signal_seq
  /// 0..4096 entries [name, value(, type(, quality))], values int32, unique by full id
  /// (docs/protocol.md §9): a normal-quality item is [name, value] as before signal types.
  signal_list signals;
};
template <class V> void describe(V& v, signal_frame& x) {
  v.text("channel", x.channel, text_kind::label);
  v.text("source", x.source, text_kind::text, presence::optional);
  v.u64("seq", x.seq);
  v.signals("signals", x.signals, max_list_entries);
}

/// One source a channel sum includes, with the seq of its frame that the sum holds.
struct signal_source {
  std::string source;    ///< text: as in signal_frame on the bus
  std::uint64_t seq = 0; ///< of the source's frame counted in the sum
};
template <class V> void describe(V& v, signal_source& x) {
  v.text("source", x.source, text_kind::text);
  v.u64("seq", x.seq);
}

/// A channel's current state as receivers need it: the sum over sources of each source's latest
/// frame, per signal (int32 arithmetic wrapping as Factorio's wires do), nonzero signals only,
/// and the sources it includes. A world that also transmits on the channel subtracts its own
/// frame of the listed seq. Published after changes, at most once per signal_min_interval_ms,
/// and again when the channel goes quiet and every few seconds (docs/protocol.md §9).
struct signal_sum {
  static constexpr const char* type = "signal_sum";
  std::string channel;                ///< label
  std::uint64_t generation = 0;       ///< rises with each change of the channel (counted over all channels); a republication repeats it
  std::vector<signal_source> sources; ///< sorted by source; 0..max_sum_sources
  signal_list signals;                ///< 0..max_sum_signals entries, sorted by signal_key
};
template <class V> void describe(V& v, signal_sum& x) {
  v.text("channel", x.channel, text_kind::label);
  v.u64("generation", x.generation);
  v.list("sources", x.sources, max_sum_sources);
  v.signals("signals", x.signals, max_sum_signals);
}

} // namespace clusterio::wire

#pragma once
// Circuit signals between worlds and tools.
//
//   slave/publisher -> master   signal            -> ok   (the master fans it out)
//   master bus                  signal/<channel>  a signal_frame
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

} // namespace clusterio::wire

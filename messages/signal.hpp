#pragma once
// Circuit signals between worlds and tools.
//
//   slave/publisher -> master   signal            -> ok   (the master fans it out)
//   master bus                  signal/<channel>  a signal_frame

#include "field.hpp"
#include "limits.hpp"

namespace clusterio::wire {

/// The complete set of signals one source currently transmits on one channel. A receiver
/// outputs, per channel, the sum over sources of each source's latest frame. An empty list
/// withdraws the source's contribution.
struct signal_frame {
  static constexpr const char* type = "signal";
  std::string channel;   ///< label
  std::string source;    ///< text: set by the master, `<client>/<source>`
  std::uint64_t seq = 0; ///< per source, increasing; older frames are dropped
  item_list signals;     ///< 0..4096 [name, value], value int32; names unique
};
template <class V> void describe(V& v, signal_frame& x) {
  v.text("channel", x.channel, text_kind::label);
  v.text("source", x.source, text_kind::text, presence::optional);
  v.u64("seq", x.seq);
  v.items("signals", x.signals, min_signal_value, max_signal_value, max_list_entries, qualities::no);
}

} // namespace clusterio::wire

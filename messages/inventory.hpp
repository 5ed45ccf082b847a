#pragma once
// Storage levels and statistics.
//
//   any  -> master    inventory_query  -> inventory  (full snapshot)
//   any  -> master    stats_query      -> stats
//   master bus        inventory        an inventory with only the levels that changed, at
//                                      least once a second while anything changes; more than
//                                      max_bus_levels levels come in parts

#include "field.hpp"
#include "limits.hpp"

namespace clusterio::wire {

struct inventory_query {
  static constexpr const char* type = "inventory_query";
};
template <class V> void describe(V&, inventory_query&) {}

/// Storage levels, one per (name, quality). Counts are 0..max_stock; 0 means the item ran out.
struct inventory_levels {
  static constexpr const char* type = "inventory";
  std::uint64_t time_ms = 0; ///< Unix epoch milliseconds when the levels were read
  bool full = false;         ///< true: every item; false: only those that changed
  item_list levels;
  /// On the bus, levels come max_bus_levels at a time: this message is part `part` of `parts`,
  /// all with the same time_ms, sent one after the other. A full snapshot is whole only once
  /// every part has arrived.
  std::uint64_t part = 1;
  std::uint64_t parts = 1;
};
template <class V> void describe(V& v, inventory_levels& x) {
  v.u64("time_ms", x.time_ms);
  v.flag("full", x.full);
  v.items("levels", x.levels, 0, max_stock, max_long_list_entries);
  v.u64("part", x.part, 1, max_bus_parts, presence::optional);
  v.u64("parts", x.parts, 1, max_bus_parts, presence::optional);
}

/// Asks for per-minute transfer statistics.
struct stats_query {
  static constexpr const char* type = "stats_query";
  std::string item;              ///< text: an item name, or "" for all items together
  std::uint64_t instance_id = 0; ///< 0 for all instances together
  std::uint32_t minutes = 60;    ///< how far back, 1..10080 (a week)
  std::string quality{normal_quality}; ///< of `item`; on the wire only when not normal
};
template <class V> void describe(V& v, stats_query& x) {
  v.text("item", x.item, text_kind::text, presence::optional);
  v.u64("instance_id", x.instance_id, 0, UINT64_MAX, presence::optional);
  v.u64("minutes", x.minutes, 1, 10080, presence::optional);
  v.quality("quality", x.quality);
}

/// One minute of transfers.
struct stats_point {
  std::uint64_t minute = 0;   ///< Unix epoch minutes
  std::int64_t exported = 0;  ///< units put into storage during that minute
  std::int64_t imported = 0;  ///< units granted out of storage during that minute
};
template <class V> void describe(V& v, stats_point& x) {
  v.u64("minute", x.minute);
  v.i64("exported", x.exported, 0, max_stock);
  v.i64("imported", x.imported, 0, max_stock);
}

struct stats_reply {
  static constexpr const char* type = "stats";
  std::vector<stats_point> points; ///< oldest first; minutes with no transfer are left out
};
template <class V> void describe(V& v, stats_reply& x) {
  v.list("points", x.points, max_long_list_entries);
}

} // namespace clusterio::wire

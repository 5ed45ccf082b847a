#pragma once
// Transfer messages: the exactly-once protocol (docs/transfers.md).
//
// Export (world -> storage):
//   slave -> master    export          -> export_ack   applied once per (instance, batch)
// Import (storage -> world):
//   slave -> master    request         -> grant        amounts moved into durable reservations
//   slave -> master    confirm         -> confirm_ack  the mod applied (or cancelled) grants
//   slave -> master    resync          -> pending      unconfirmed grants, to deliver again
//   admin -> master    reclaim         -> ok           mark a reservation for return to storage
//
// Names are item or fluid names (any mod's); counts are whole units (fluids in whole units).
// An item of a quality other than normal is its own item: [name, count, quality] in lists, a
// `quality` field in a grant (docs/protocol.md §3); (name, quality) is unique in a list.

#include "field.hpp"
#include "limits.hpp"

namespace clusterio::wire {

/// A numbered batch of items the mod took out of the world. The mod keeps it until the slave
/// says the master acknowledged it; the master applies each (instance_id, batch) at most once.
struct export_batch {
  static constexpr const char* type = "export";
  std::uint64_t instance_id = 0;
  std::uint64_t batch = 0; ///< >= 1, increasing per instance
  /// Lowest batch number the mod still holds (<= batch). Every batch below it is acknowledged
  /// and dropped in the game, so the master may forget its dedup records.
  std::uint64_t floor = 0;
  item_list items; ///< 1..4096 entries (the master refuses an empty list), counts 1..max_transfer_count, (name, quality) unique
};
template <class V> void describe(V& v, export_batch& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.u64("batch", x.batch, 1);
  v.u64("floor", x.floor, 0);
  v.items("items", x.items, 1, max_transfer_count, max_list_entries);
}

/// Reply to export, once the batch is durable.
struct export_ack {
  static constexpr const char* type = "export_ack";
  std::uint64_t instance_id = 0;
  std::uint64_t batch = 0;
  bool duplicate = false; ///< true: this batch was applied before; it was not applied again
};
template <class V> void describe(V& v, export_ack& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.u64("batch", x.batch, 1);
  v.flag("duplicate", x.duplicate);
}

/// What an instance's get-chests and get-tanks miss right now.
struct request_items {
  static constexpr const char* type = "request";
  std::uint64_t instance_id = 0;
  item_list items; ///< 1..4096 entries (the master refuses an empty list), counts 1..max_transfer_count, (name, quality) unique
};
template <class V> void describe(V& v, request_items& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.items("items", x.items, 1, max_transfer_count, max_list_entries);
}

/// An amount reserved in storage for one instance. The mod applies each grant id once.
struct grant {
  std::uint64_t grant_id = 0; ///< >= 1, unique in the cluster for ever
  std::string name;
  std::int64_t count = 0;              ///< 1..max_transfer_count
  std::string quality{normal_quality}; ///< on the wire only when not normal
  friend bool operator==(const grant& a, const grant& b) {
    return a.grant_id == b.grant_id && a.name == b.name && a.count == b.count && a.quality == b.quality;
  }
};
template <class V> void describe(V& v, grant& x) {
  v.u64("grant_id", x.grant_id, 1);
  v.text("name", x.name, text_kind::name);
  v.i64("count", x.count, 1, max_transfer_count);
  v.quality("quality", x.quality);
}

/// Reply to request: what was reserved, durably, for the instance. Items not listed got nothing.
struct grant_reply {
  static constexpr const char* type = "grant";
  std::uint64_t instance_id = 0;
  std::vector<grant> grants; ///< 0..4096
};
template <class V> void describe(V& v, grant_reply& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.list("grants", x.grants, max_list_entries);
}

/// The mod's answers about grants. `applied`: the mod put the items into the world (now or
/// before). `cancelled`: the mod never applied the grant and has recorded that it never will;
/// its items go back to storage.
struct confirm_grants {
  static constexpr const char* type = "confirm";
  std::uint64_t instance_id = 0;
  std::vector<std::uint64_t> applied;   ///< 0..4096 grant ids
  std::vector<std::uint64_t> cancelled; ///< 0..4096 grant ids
};
template <class V> void describe(V& v, confirm_grants& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.ids("applied", x.applied, max_list_entries);
  v.ids("cancelled", x.cancelled, max_list_entries);
}

/// Reply to confirm, once the reservations are durably dropped or returned.
struct confirm_ack {
  static constexpr const char* type = "confirm_ack";
  std::uint64_t instance_id = 0;
  std::vector<std::uint64_t> released; ///< grant ids whose reservation is gone (incl. unknown ids)
};
template <class V> void describe(V& v, confirm_ack& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.ids("released", x.released, max_list_entries * 2);
}

/// After any reconnect or restart: "which of my grants are unconfirmed?"
struct resync {
  static constexpr const char* type = "resync";
  std::uint64_t instance_id = 0;
};
template <class V> void describe(V& v, resync& x) {
  v.u64("instance_id", x.instance_id, 1);
}

/// Reply to resync: grants to deliver (again) and grants an operator wants reclaimed, which the
/// slave must ask the mod to cancel (the mod answers applied or cancelled; see confirm).
struct pending_grants {
  static constexpr const char* type = "pending";
  std::uint64_t instance_id = 0;
  std::vector<grant> grants;          ///< deliver these
  std::vector<std::uint64_t> reclaim; ///< ask the mod to cancel these
};
template <class V> void describe(V& v, pending_grants& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.list("grants", x.grants, max_long_list_entries);
  v.ids("reclaim", x.reclaim, max_long_list_entries);
}

/// Operator command: return a stale reservation to storage. The master does not return it at
/// once; it marks it, the slave asks the mod to cancel it, and only the mod's "cancelled"
/// (or deleting the instance) puts the items back.
struct reclaim_grant {
  static constexpr const char* type = "reclaim";
  std::uint64_t grant_id = 0;
};
template <class V> void describe(V& v, reclaim_grant& x) {
  v.u64("grant_id", x.grant_id, 1);
}

} // namespace clusterio::wire

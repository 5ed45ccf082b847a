#pragma once
// Instance messages: a slave registers the Factorio instances it runs and reports on them.
//
//   slave -> master    register         -> registered
//   slave -> master    heartbeat        -> ok
//   any   -> master    slaves_query     -> slaves (a page; next_after says whether more follow)
//   admin -> master    delete_instance  -> ok    (also a slave, for its own instance)
//   master bus         event/instance   an instance_info whenever an instance changes

#include "field.hpp"
#include "limits.hpp"

namespace clusterio::wire {

/// Registers (or re-registers after a reconnect) one instance of the sending slave. The pair
/// (slave, name) keeps its instance_id for ever.
struct register_instance {
  static constexpr const char* type = "register";
  std::string name;         ///< label: instance name, unique on its slave
  std::string game_address; ///< address: "host:port" players join, or "" if not public
};
template <class V> void describe(V& v, register_instance& x) {
  v.text("name", x.name, text_kind::label);
  v.text("game_address", x.game_address, text_kind::address, presence::optional);
}

/// Reply to register.
struct registered {
  static constexpr const char* type = "registered";
  std::uint64_t instance_id = 0; ///< cluster-wide id of the instance, >= 1
  /// Every export batch number below this was already applied for this instance; the slave
  /// makes the mod number new batches from here on, so that batches made after a game rollback
  /// can't be taken for old ones.
  std::uint64_t next_batch = 1;
};
template <class V> void describe(V& v, registered& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.u64("next_batch", x.next_batch, 1);
}

/// What a world keeps from the cluster, as its mod's `status` says: items left in put-chests
/// (they carry state the wire cannot), and signals combinators had no room to show. Every field
/// is optional: a slave from before them sends none, which reads as nothing held back.
struct held_back_report {
  item_list items;               ///< held_back: the largest max_report_entries, largest first
  std::uint64_t items_total = 0; ///< held_back_total: units over every entry, listed or not
  std::uint64_t signals_not_shown = 0;
  friend bool operator==(const held_back_report& a, const held_back_report& b) {
    return a.items == b.items && a.items_total == b.items_total && a.signals_not_shown == b.signals_not_shown;
  }
};
/// The report's fields, flat in the message that carries it (heartbeat, instance).
template <class V> void describe_held_back(V& v, held_back_report& x) {
  constexpr auto most = static_cast<std::uint64_t>(max_stock);
  v.items("held_back", x.items, 1, max_stock, max_report_entries, presence::optional);
  v.u64("held_back_total", x.items_total, 0, most, presence::optional);
  v.u64("signals_not_shown", x.signals_not_shown, 0, most, presence::optional);
}

/// Periodic report on a running instance (every few seconds). Also keeps the slave alive.
struct heartbeat {
  static constexpr const char* type = "heartbeat";
  std::uint64_t instance_id = 0;
  double ups = 0;            ///< game updates per second over the last interval, 0..10000
  std::uint64_t tick = 0;    ///< game tick
  std::uint32_t players = 0; ///< players online
  std::string state;         ///< label: "starting", "running", "stopping", "stopped", "crashed"
  held_back_report held_back{}; ///< as of the mod's latest status reply
};
template <class V> void describe(V& v, heartbeat& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.f64("ups", x.ups, 0, 10000);
  v.u64("tick", x.tick);
  v.u64("players", x.players, 0, 65535);
  v.text("state", x.state, text_kind::label);
  describe_held_back(v, x.held_back);
}

/// What the master knows of an instance.
struct instance_info {
  static constexpr const char* type = "instance";
  std::uint64_t instance_id = 0;
  std::string name;         ///< label
  std::string slave;        ///< label: the slave running it
  std::string game_address; ///< text
  bool online = false;      ///< heard from within the liveness timeout
  double ups = 0;
  std::uint64_t tick = 0;
  std::uint32_t players = 0;
  std::string state; ///< text, as in heartbeat
  std::uint64_t last_seen_ms = 0; ///< Unix epoch milliseconds of the last heartbeat
  held_back_report held_back{};   ///< as of the last heartbeat; empty until one came since the master started
};
template <class V> void describe(V& v, instance_info& x) {
  v.u64("instance_id", x.instance_id, 1);
  v.text("name", x.name, text_kind::label);
  v.text("slave", x.slave, text_kind::label);
  v.text("game_address", x.game_address, text_kind::text);
  v.flag("online", x.online);
  v.f64("ups", x.ups, 0, 10000);
  v.u64("tick", x.tick);
  v.u64("players", x.players, 0, 65535);
  v.text("state", x.state, text_kind::text);
  v.u64("last_seen_ms", x.last_seen_ms);
  describe_held_back(v, x.held_back);
}

/// Asks for the known instances, by instance_id, a page at a time: those above `after`, at
/// most `limit` of them.
struct slaves_query {
  static constexpr const char* type = "slaves_query";
  std::uint64_t after = 0;
  std::uint64_t limit = max_page_instances;
};
template <class V> void describe(V& v, slaves_query& x) {
  v.u64("after", x.after, 0, UINT64_MAX, presence::optional);
  v.u64("limit", x.limit, 1, max_page_instances, presence::optional);
}

struct slaves_reply {
  static constexpr const char* type = "slaves";
  std::vector<instance_info> instances; ///< ascending instance_id
  /// 0: this page is the last. Else more instances follow: ask again with `after` = this.
  std::uint64_t next_after = 0;
};
template <class V> void describe(V& v, slaves_reply& x) {
  v.list("instances", x.instances, max_page_instances);
  v.u64("next_after", x.next_after, 0, UINT64_MAX, presence::optional);
}

/// Forgets an instance. Its unconfirmed grants go back to storage (the instance is gone, so
/// nothing can apply them any more) and its unacknowledged batches are lost with its world.
struct delete_instance {
  static constexpr const char* type = "delete_instance";
  std::uint64_t instance_id = 0;
};
template <class V> void describe(V& v, delete_instance& x) {
  v.u64("instance_id", x.instance_id, 1);
}

} // namespace clusterio::wire

#pragma once
// The storage actor owns the cluster's stock: a count per item or fluid name, the durable
// reservations (grants), the export dedup records and the per-minute statistics.
//
// Messages it takes (see jobs.hpp):
//   (export_atom, export_jobs)          apply each batch once per (instance, batch); ack
//   (reserve_atom, reserve_jobs)        from demand: reserve min(plan, stock) per item; grant reply
//   (confirm_atom, confirm_jobs)        drop applied reservations, return cancelled ones
//   (query_atom, query_job)             resync, reclaim, inventory_query, stats_query
//   (next_batch_atom, route, registered)   from registry: fill next_batch, reply registered
//   (drop_instance_atom, route, id)     from registry: return the instance's reservations
//   (subscribe_levels_atom)             sender (demand) gets (levels_atom, item_list) updates
//   (publish_full_atom)                 publish the full inventory on the bus
//   (web_storage_atom, rate_minutes) -> web_storage_view    read-only, for the web (web_jobs.hpp)
//   (web_stats_atom, web_stats_query) -> web_series         read-only, for the web
// Once a minute it moves per-minute statistics older than 48 h into hourly rows.
//
// Invariants: a count is never negative and never above max_stock; every reply is sent only
// after the state it reveals is committed to SQLite (group commit: one transaction per burst
// of messages). If a commit fails (a full disk), the failure is latched: every request is refused
// with `unavailable`, and every recover_interval the actor reloads what was committed (dropping
// what the failed commit held in memory) and takes requests again; while the disk stays full
// the next commit fails and latches again. Nothing is acknowledged that is not written.
//
// Runs detached (its own thread): it blocks on SQLite commits.

#include <cstdint>
#include <string>

#include <caf/actor.hpp>

#include "common/result.hpp"

namespace clusterio {

class outbox;
struct metrics;

struct storage_config {
  std::string db_path;
  bool full_sync = true;                     ///< fsync each commit (survives power loss)
  std::uint64_t inventory_interval_ms = 500; ///< how often changed levels go on the bus
  metrics* counters = nullptr;               ///< transfer counters for /metrics; may be null
  /// Distinct item and fluid names with a non-zero level, at most. An export that would add a
  /// new name beyond this gets `overloaded` ("storage holds the maximum of N distinct names") and
  /// nothing of it is applied, so a flood of unique names cannot exhaust the master's memory.
  std::size_t max_item_names = 100000;
};

/// Opens the database and spawns the actor.
result<caf::actor> spawn_storage(caf::actor_system& sys, const storage_config& cfg, outbox& out);

} // namespace clusterio

#pragma once
// The storage actor owns the cluster's stock: a count per item or fluid and quality, the durable
// reservations (grants), how much of each request to grant (the demand policy, deciding on the
// stock itself), the export dedup records and the per-minute statistics (the rules are in
// storage_ledger.hpp). Its interface, storage_actor, is the protocol; clients' replies go
// through the outbox, answers to actors as replies to their requests. Once a minute it moves
// per-minute statistics older than 48 h into hourly rows.
//
// Invariants: every reply and every answer is sent only after the state it reveals is committed
// to SQLite (group commit: one transaction per burst of messages). If a commit fails (a full
// disk), the failure is latched: every request is refused with `unavailable`, and every
// recover_interval the actor reloads what was committed (dropping what the failed commit held in
// memory) and takes requests again; while the disk stays full the next commit fails and latches
// again. Nothing is acknowledged that is not written.
//
// Runs detached in the master (its own thread): it blocks on SQLite commits.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/master/jobs.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "demand/demand_policy.hpp"

namespace clusterio {

class outbox;
struct metrics;

/// One item or fluid of one quality in storage, for the web page.
struct web_item {
  std::string name;
  std::string quality{wire::normal_quality};
  std::int64_t count = 0;    ///< units in storage now
  std::int64_t exported = 0; ///< units put in over the rate window
  std::int64_t imported = 0; ///< units taken out (granted, net of cancellations) over the window
};

struct web_storage_view {
  std::vector<web_item> items;       ///< sorted by name, normal quality first, then by quality name
  std::uint64_t rate_minutes = 0;    ///< the window `exported`/`imported` cover (whole minutes)
  std::uint64_t reservations = 0;    ///< outstanding grants
  std::int64_t reserved_units = 0;   ///< units held by outstanding grants
  bool failed = false;               ///< a commit failed: requests are refused until a reload (every 10 s)
  std::string failure;               ///< why
};

struct web_stats_query {
  std::string item;              ///< "" = every item
  std::uint64_t instance_id = 0; ///< 0 = every instance (still broken down per instance)
  std::uint64_t minutes = 60;    ///< how far back
  std::string quality{wire::normal_quality}; ///< of `item`
};

/// One bucket of transfers of one instance.
struct web_point {
  std::uint64_t minute = 0; ///< Unix minute the bucket starts at
  std::uint64_t instance_id = 0;
  std::int64_t exported = 0, imported = 0;
};

struct web_series {
  std::uint64_t bucket_minutes = 1; ///< 1 for the last 48 h, 60 beyond
  std::vector<web_point> points;    ///< oldest first
  std::string error;                ///< non-empty: the query failed
};

using export_atom = caf::atom_constant<caf::atom("cl_export")>;
using request_atom = caf::atom_constant<caf::atom("cl_request")>;
using confirm_atom = caf::atom_constant<caf::atom("cl_confirm")>;
using next_batch_atom = caf::atom_constant<caf::atom("cl_nextbat")>;
using publish_full_atom = caf::atom_constant<caf::atom("cl_pubfull")>;
using commit_atom = caf::atom_constant<caf::atom("cl_commit")>;
using recover_atom = caf::atom_constant<caf::atom("cl_recover")>;
using web_storage_atom = caf::atom_constant<caf::atom("web_store")>;
using web_stats_atom = caf::atom_constant<caf::atom("web_stats")>;

using storage_actor = caf::typed_actor<
  /// From the gateway: apply each batch once per (instance, batch); reply export_ack.
  caf::reacts_to<export_atom, export_jobs>,
  /// From the gateway: grant each request what the demand policy gives it; reply grant.
  caf::reacts_to<request_atom, request_jobs>,
  /// From the gateway: drop applied reservations, return cancelled ones; reply confirm_ack.
  caf::reacts_to<confirm_atom, confirm_jobs>,
  /// From the gateway: resync, reclaim_grant, inventory_query, stats_query; reply each.
  caf::reacts_to<query_atom, query_job>,
  /// From the registry: the batch number an instance sends next (registered.next_batch).
  caf::replies_to<next_batch_atom, std::uint64_t>::with<std::uint64_t>,
  /// From the registry: return a deleted instance's reservations; how many there were.
  caf::replies_to<drop_instance_atom, std::uint64_t>::with<std::uint64_t>,
  /// From the gateway: a new inventory subscriber; publish every level on the bus.
  caf::reacts_to<publish_full_atom>,
  /// To itself: write what changed, then release the replies waiting for it.
  caf::reacts_to<commit_atom>,
  /// To itself, after a failed commit: reload what was committed and take requests again.
  caf::reacts_to<recover_atom>,
  /// To itself, every inventory_interval_ms: flush statistics, publish changed levels, compact.
  caf::reacts_to<tick_atom>,
  /// From the web server: levels and transfer rates over the last `rate_minutes`.
  caf::replies_to<web_storage_atom, std::uint64_t>::with<web_storage_view>,
  /// From the web server: a transfer series for the graphs.
  caf::replies_to<web_stats_atom, web_stats_query>::with<web_series>>;

struct storage_config {
  std::string db_path;
  bool full_sync = true;                     ///< fsync each commit (survives power loss)
  std::uint64_t inventory_interval_ms = 500; ///< how often changed levels go on the bus
  metrics* counters = nullptr;               ///< transfer counters for /metrics; may be null
  /// Distinct items and fluids (each quality of a name counts) with a non-zero level, at most.
  /// An export that would add a new one beyond this gets `overloaded` ("storage holds the
  /// maximum of N distinct items") and nothing of it is applied, so a flood of unique names
  /// cannot exhaust the master's memory.
  std::size_t max_item_names = 100000;
  demand::policy_kind policy = demand::policy_kind::fair; ///< how a scarce item is shared among requests
  demand::policy_config policy_config;
  const clock* time = &machine_clock();      ///< statistics minutes, flush and compaction times, demand windows
  bool own_thread = true;                    ///< detached; false: on the scheduler (deterministic tests)
};

/// Opens the database, loads it and spawns the actor.
result<storage_actor> spawn_storage(caf::actor_system& sys, const storage_config& cfg, outbox& out);

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_storage_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_stats_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_series)

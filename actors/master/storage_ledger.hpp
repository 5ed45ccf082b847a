#pragma once
// The storage's state in memory and the rules that change it, without the actor around it: the
// stock (a count per item or fluid and quality, by wire::item_key), the export dedup records
// per instance, the reservations (grants), how much of a request to grant (one allocator of the
// demand policy per item: demand/demand_policy.hpp, deciding on the stock itself), the
// per-minute transfer statistics, and every change not yet committed.
// The storage actor (storage.cpp) owns one ledger; it commits take_changes() and releases the
// replies the ledger computed only after that commit. No CAF, no clock: the caller passes the
// Unix minute a transfer belongs to.
//
// Invariants: a count is never negative and never above wire::max_stock; a key at level 0 is
// not kept; at most `max_item_names` keys (each quality of a name counts) have a non-zero level,
// and their bytes together are at most wire::max_stored_key_bytes (key_bytes_).
// Every map here is keyed by wire::item_key, and so are the reservations' and statistics' names.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "demand/demand_policy.hpp"
#include "messages/message.hpp"
#include "store/storage_db.hpp"

namespace clusterio {

struct metrics;

/// Transfers of the current minute, per instance and name, not yet handed to a commit. One
/// lookup per item of every export and grant (no key is built for it); a new minute hands the
/// old one over first.
class minute_stats {
public:
  /// Adds to the (instance, name) row of `minute`; a new minute first moves the old rows to `out`.
  void add(std::uint64_t minute, std::uint64_t instance, const std::string& name, std::int64_t exported, std::int64_t imported,
           std::vector<stat_delta>& out);
  /// Moves every row gathered so far to `out`.
  void move_to(std::vector<stat_delta>& out);
  bool empty() const { return rows_.empty(); }
  void clear() { rows_.clear(); }

private:
  std::unordered_map<std::uint64_t, std::unordered_map<std::string, stat_delta>> rows_;
  std::uint64_t minute_ = 0;
};

class storage_ledger {
public:
  /// `counters` (may be null) counts transfers for /metrics.
  storage_ledger(std::size_t max_item_names, demand::policy_kind policy, demand::policy_config policy_config, metrics* counters)
    : max_item_names_(max_item_names), policy_(policy), policy_config_(policy_config), counters_(counters) {}
  /// Takes no names: a place holder until the actor makes the real one.
  storage_ledger() = default;

  /// Makes what the database holds the state, dropping everything else (uncommitted changes and
  /// statistics too): at the start, and after a failed commit.
  void adopt(storage_snapshot& snap);

  std::int64_t level(const std::string& key) const;
  const std::unordered_map<std::string, std::int64_t>& counts() const { return counts_; }
  const std::map<std::uint64_t, reservation>& grants() const { return grants_; }

  /// Applies an export batch once per (instance, batch): export_ack (duplicate or not), or an
  /// error when it would pass a stock limit or a limit of the names (nothing of it applied).
  wire::message apply_export(const wire::export_batch& m, std::uint64_t minute);
  /// Grants what the demand policy gives the request of each item at `now_ms` (a monotonic
  /// time: the policy's demand window), and reserves it: grant_reply, or `overloaded` (nothing
  /// reserved) when the instance would hold more than wire::max_outstanding_grants unconfirmed
  /// grants.
  wire::message request(const wire::request_items& m, std::uint64_t minute, std::uint64_t now_ms);
  /// Drops applied reservations and returns cancelled ones to the stock.
  /// Grants a confirm named that another instance holds: left alone, and counted here for the
  /// caller's one warning (a slave naming thousands must not write thousands of lines).
  struct foreign_grants {
    std::size_t count = 0;
    std::uint64_t first_id = 0, first_holder = 0;
  };
  wire::confirm_ack confirm(const wire::confirm_grants& m, std::uint64_t minute, foreign_grants& foreign);
  /// Returns the instance's reservations to the stock and forgets its dedup records and its
  /// demand; how many reservations.
  std::size_t drop_instance(std::uint64_t instance_id);
  /// The instance's outstanding grants (the reply to resync).
  wire::pending_grants pending_of(std::uint64_t instance_id) const;
  /// Marks a grant for reclaim; false if there is no such grant.
  bool reclaim(std::uint64_t grant_id);
  /// The batch number the instance sends next (registered.next_batch): above every batch applied.
  std::uint64_t next_batch(std::uint64_t instance_id) const;

  /// Moves the statistics gathered so far into the next commit's changes.
  void flush_stats() { stats_.move_to(pending_.stats); }
  bool has_unflushed_stats() const { return !stats_.empty(); }

  /// Everything changed since the last call, for one commit (levels: the names changed, with
  /// their counts now); the ledger starts gathering anew.
  storage_changes take_changes();
  /// The levels changed since the last call (for the bus), sorted by key.
  wire::item_list take_bus_changes();
  /// Every non-zero level (for the bus), sorted by key.
  wire::item_list all_levels() const;

private:
  void set_level(const std::string& key, std::int64_t value);
  void add_stat(std::uint64_t minute, std::uint64_t instance, const std::string& name, std::int64_t exported, std::int64_t imported) {
    stats_.add(minute, instance, name, exported, imported, pending_.stats);
  }
  void remove_grant(std::uint64_t id);
  /// An error reply if the batch's items (whose keys are `keys`) would pass a stock limit or a
  /// limit of the names (their number, their bytes).
  std::optional<wire::error_reply> refuse_export(const wire::export_batch& m, const std::vector<std::string>& keys) const;
  /// Moves pruned_below past the applied batches that follow it, and prunes below `floor`.
  void advance_floor(std::uint64_t instance_id, std::uint64_t floor);

  struct instance_batches {
    std::uint64_t pruned_below = 0;
    std::uint64_t max_batch = 0;
    std::unordered_set<std::uint64_t> applied; ///< applied batches >= pruned_below
  };

  std::size_t max_item_names_ = 0;
  demand::policy_kind policy_ = demand::policy_kind::fair;
  demand::policy_config policy_config_;
  metrics* counters_ = nullptr;
  /// By key, for every name asked for (while it has stock, or up to max_item_names_ without).
  std::unordered_map<std::string, std::unique_ptr<demand::item_allocator>> allocators_;
  std::unordered_map<std::string, std::int64_t> counts_;
  std::size_t key_bytes_ = 0; ///< of the keys in counts_
  std::unordered_map<std::uint64_t, instance_batches> instances_;
  std::map<std::uint64_t, reservation> grants_;
  std::unordered_map<std::uint64_t, std::set<std::uint64_t>> grants_of_;
  std::uint64_t next_grant_id_ = 1;
  minute_stats stats_;

  // Changes since the last take_changes().
  storage_changes pending_;
  std::unordered_set<std::string> dirty_levels_;
  std::unordered_set<std::uint64_t> dirty_states_;
  // Changed since the last take_bus_changes().
  std::unordered_set<std::string> changed_for_bus_;
};

} // namespace clusterio

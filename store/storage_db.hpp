#pragma once
// The storage actor's durable state in SQLite (<data>/master.db). The storage actor keeps
// everything in memory and writes each group of changes in one transaction (group commit);
// nothing is acknowledged to a client before the transaction that holds it has committed.
//
// A commit does not update the state's tables row by row: it appends its changes as one record
// to commit_log, and every commits_per_fold-th commit folds the changes of all the commits
// since the last fold, merged, into the tables instead (a grant made and confirmed in between
// never reaches them; an instance's batch state is written once, not once per commit). load()
// reads the tables and replays the records after the last fold. Both happen in the commit's
// own transaction, so a crash at any moment leaves the tables and the log consistent.
//
// Tables (never renamed; columns only ever added). Every `name` column, and the names in the
// commit log, hold an item's key (wire::item_key): the bare name for normal quality, as before
// qualities, so older files read the same.
//   items(name PK, count >= 0)                     stock per item or fluid and quality
//   batches(instance_id, batch) PK                 export batches applied (dedup records)
//   batch_state(instance_id PK, pruned_below, max_batch)
//       every batch < pruned_below was applied; its record may be gone
//   grants(grant_id PK, instance_id, name, count > 0, reclaim)   reservations
//   meta(key PK, value)                            'next_grant_id'; 'folded_seq': the last
//                                                  commit whose changes the tables hold
//   commit_log(slot PK, seq, changes)              the commits after folded_seq, one record
//       each in slot seq % commits_per_fold (older slots are stale and overwritten); changes
//       is a msgpack array (commit_record.hpp)
//   stats(minute, instance_id, name) PK, exported, imported      per-minute transfers
//   stats_hourly(minute, instance_id, name) PK, exported, imported
//       the same, one row per hour (minute = the hour's first minute), for rows older than the
//       per-minute retention (compact_stats)
//   Statistics are added to their rows in each commit, not logged: their writes add up.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/sqlite.hpp"

namespace clusterio {

struct reservation {
  std::uint64_t grant_id = 0;
  std::uint64_t instance_id = 0;
  std::string name;
  std::int64_t count = 0;
  bool reclaim = false; ///< an operator asked for it back; the mod must cancel it first
};

struct batch_state {
  std::uint64_t instance_id = 0;
  std::uint64_t pruned_below = 0;
  std::uint64_t max_batch = 0;
};

struct stat_delta {
  std::uint64_t minute = 0;
  std::uint64_t instance_id = 0;
  std::string name;
  std::int64_t exported = 0;
  std::int64_t imported = 0;
};

/// Everything one transaction writes.
struct storage_changes {
  std::vector<std::pair<std::string, std::int64_t>> levels; ///< new counts (0 deletes the row)
  std::vector<std::pair<std::uint64_t, std::uint64_t>> batches_added; ///< (instance, batch)
  std::vector<batch_state> states;                                    ///< upserted, with pruning
  std::vector<reservation> grants_upserted;
  std::vector<std::uint64_t> grants_removed;
  std::vector<std::uint64_t> instances_dropped; ///< delete all batch records and state
  std::vector<stat_delta> stats;
  std::uint64_t next_grant_id = 0; ///< 0: unchanged

  /// Nothing but statistics (nothing for the commit log).
  bool only_stats() const {
    return levels.empty() && batches_added.empty() && states.empty() && grants_upserted.empty() && grants_removed.empty() &&
           instances_dropped.empty() && next_grant_id == 0;
  }
  bool empty() const { return only_stats() && stats.empty(); }
};

/// Everything loaded at start.
struct storage_snapshot {
  std::unordered_map<std::string, std::int64_t> counts;
  std::vector<batch_state> states;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> batches;
  std::vector<reservation> grants;
  std::uint64_t next_grant_id = 1;
};

class storage_db {
public:
  /// Opens or creates the database.
  static result<std::unique_ptr<storage_db>> open(const std::string& path, bool full_sync);

  /// Reads the whole state, replaying the commit log. Once, before the first commit: it finds
  /// where the log stands.
  result<storage_snapshot> load();

  /// Writes the changes in one transaction. On failure nothing was written (the transaction is
  /// rolled back), and nothing more may be committed: what this object keeps in memory for the
  /// next fold already holds the failed changes (the storage actor refuses all writes after a
  /// failed commit).
  result<void> commit(const storage_changes& changes);

  /// Per-minute statistics, oldest first. `name` "" and `instance_id` 0 mean "all".
  struct stat_row {
    std::uint64_t minute;
    std::int64_t exported, imported;
  };
  result<std::vector<stat_row>> query_stats(const std::string& name, std::uint64_t instance_id, std::uint64_t since_minute);

  /// Units exported and imported per item since `since_minute` (per-minute rows only).
  struct rate_row {
    std::string name;
    std::int64_t exported, imported;
  };
  result<std::vector<rate_row>> query_rates(std::uint64_t since_minute);

  /// Transfers per (bucket, instance) since `since_minute`, oldest first, from the per-minute and
  /// the hourly rows. `name` "" and `instance_id` 0 mean "all"; `bucket_minutes` is 1 or 60.
  struct series_row {
    std::uint64_t minute, instance_id;
    std::int64_t exported, imported;
  };
  result<std::vector<series_row>> query_series(const std::string& name, std::uint64_t instance_id, std::uint64_t since_minute,
                                               std::uint64_t bucket_minutes);

  /// Downsampling: moves the per-minute rows older than `before_minute` into hourly rows, in one
  /// transaction (on failure nothing changed).
  result<void> compact_stats(std::uint64_t before_minute);

  /// Commits between folds, and slots in commit_log. At ~1,000 commits a second (master-load
  /// N=100) a fold a second, of ~250 rows; a start replays at most this many records.
  static constexpr std::uint64_t commits_per_fold = 1024;

private:
  /// The changes of the commits since the last fold, merged: what the next fold writes.
  struct unfolded {
    std::unordered_map<std::string, std::int64_t> levels;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> batches_added;
    std::unordered_map<std::uint64_t, batch_state> states;
    std::unordered_map<std::uint64_t, reservation> grants; ///< made or changed; none confirmed yet
    std::vector<std::uint64_t> grants_removed;              ///< only grants that have a row
    std::vector<std::uint64_t> instances_dropped;
    std::uint64_t next_grant_id = 0;
  };

  explicit storage_db(std::unique_ptr<sql::database> db) : db_(std::move(db)) {}
  /// Adds one commit's changes (statistics aside) to unfolded_.
  void merge(const storage_changes& c);
  /// unfolded_ as one commit's changes.
  storage_changes unfolded_changes() const;
  /// The body of commit()'s transaction: statistics, then the record or a fold.
  result<void> write_commit(const storage_changes& c);
  /// Writes unfolded_ to the tables and marks the log folded up to seq_ (inside a transaction).
  result<void> fold();
  /// Writes the rows of `c` to the state's tables (inside a transaction): levels, batch records
  /// and states, grants.
  result<void> write_rows(const storage_changes& c);
  result<void> write_levels(const storage_changes& c);
  result<void> write_batches(const storage_changes& c);
  result<void> write_grants(const storage_changes& c);
  /// Writes `c` as commit seq_'s record in commit_log (inside a transaction).
  result<void> append_record(const storage_changes& c);

  std::unique_ptr<sql::database> db_;
  unfolded unfolded_;
  std::unordered_set<std::uint64_t> grants_in_table_; ///< a confirmed grant not among them needs no delete
  std::uint64_t seq_ = 0;        ///< the last commit's
  std::uint64_t folded_seq_ = 0; ///< the last commit the tables hold
  bool loaded_ = false;
  /// Dedup records stored per instance, so that the prune that follows every state change runs
  /// only where there is something to prune (usually nothing: see storage_ledger::advance_floor).
  /// After a failed commit the storage writes nothing more, so the counts need no rollback.
  std::unordered_map<std::uint64_t, std::int64_t> batch_rows_;
  sql::statement insert_batch_, prune_batches_, drop_batches_, drop_state_, set_meta_, write_record_;
  sql::multi_row upsert_items_, delete_items_, upsert_states_, upsert_grants_, delete_grants_, upsert_stats_;
  /// The record being written (kept from commit to commit: no allocation once grown).
  std::string record_;
  /// A commit's levels split into rows to upsert and to delete (kept: no allocation per commit).
  std::vector<const std::pair<std::string, std::int64_t>*> stocked_, emptied_;
};

} // namespace clusterio

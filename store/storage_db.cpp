#include "store/storage_db.hpp"

#include <algorithm>

#include "store/commit_record.hpp"
#include "store/master_db.hpp"

namespace clusterio {

namespace {

/// A query's rows, or why it failed.
template <class Row> result<std::vector<Row>> rows_or_failure(const sql::statement& q, std::vector<Row> rows) {
  if (auto status = q.status(); !status)
    return status.error();
  return rows;
}

/// What the log's records since the last fold, merged, do to the state the tables hold.
void replay(const storage_changes& merged, storage_snapshot& out) {
  auto dropped = [&merged](std::uint64_t instance) {
    return std::find(merged.instances_dropped.begin(), merged.instances_dropped.end(), instance) != merged.instances_dropped.end();
  };
  std::unordered_map<std::uint64_t, batch_state> states;
  for (auto& s : out.states)
    if (!dropped(s.instance_id))
      states[s.instance_id] = s;
  for (auto& s : merged.states)
    states[s.instance_id] = s;
  out.states.clear();
  for (auto& [id, s] : states)
    out.states.push_back(s);
  auto& batches = out.batches;
  batches.erase(std::remove_if(batches.begin(), batches.end(), [&](const auto& b) { return dropped(b.first); }), batches.end());
  batches.insert(batches.end(), merged.batches_added.begin(), merged.batches_added.end());
  // Records below their instance's pruned_below say nothing more (a fold deletes them too).
  batches.erase(std::remove_if(batches.begin(), batches.end(),
                               [&](const auto& b) {
                                 auto s = states.find(b.first);
                                 return s != states.end() && b.second < s->second.pruned_below;
                               }),
                batches.end());
  for (auto& [name, count] : merged.levels)
    if (count > 0)
      out.counts[name] = count;
    else
      out.counts.erase(name);
  std::unordered_map<std::uint64_t, reservation> grants;
  for (auto& g : out.grants)
    grants[g.grant_id] = std::move(g);
  for (auto id : merged.grants_removed)
    grants.erase(id);
  for (auto& g : merged.grants_upserted)
    grants[g.grant_id] = g;
  out.grants.clear();
  for (auto& [id, g] : grants)
    out.grants.push_back(std::move(g));
  if (merged.next_grant_id != 0)
    out.next_grant_id = merged.next_grant_id;
}
constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS items(name TEXT PRIMARY KEY, count INTEGER NOT NULL CHECK(count >= 0)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches(instance_id INTEGER NOT NULL, batch INTEGER NOT NULL,
  PRIMARY KEY(instance_id, batch)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batch_state(instance_id INTEGER PRIMARY KEY, pruned_below INTEGER NOT NULL,
  max_batch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS grants(grant_id INTEGER PRIMARY KEY, instance_id INTEGER NOT NULL, name TEXT NOT NULL,
  count INTEGER NOT NULL CHECK(count > 0), reclaim INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commit_log(slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, changes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS stats(minute INTEGER NOT NULL, instance_id INTEGER NOT NULL, name TEXT NOT NULL,
  exported INTEGER NOT NULL, imported INTEGER NOT NULL, PRIMARY KEY(minute, instance_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats_hourly(minute INTEGER NOT NULL, instance_id INTEGER NOT NULL, name TEXT NOT NULL,
  exported INTEGER NOT NULL, imported INTEGER NOT NULL, PRIMARY KEY(minute, instance_id, name)) WITHOUT ROWID;
)sql";
} // namespace

result<std::unique_ptr<storage_db>> storage_db::open(const std::string& path, bool full_sync) {
  auto db = open_master_db(path, full_sync, schema);
  if (!db)
    return db.error();
  std::unique_ptr<storage_db> s(new storage_db(std::move(*db)));
  auto& d = *s->db_;
  s->upsert_items_ = sql::multi_row(d, "INSERT INTO items(name,count) VALUES ", "(?,?)", " ON CONFLICT(name) DO UPDATE SET count=excluded.count", 2);
  s->delete_items_ = sql::multi_row(d, "DELETE FROM items WHERE name IN (", "?", ")", 1);
  s->insert_batch_ = d.prepare("INSERT OR IGNORE INTO batches(instance_id,batch) VALUES(?1,?2)");
  s->upsert_states_ = sql::multi_row(d, "INSERT INTO batch_state(instance_id,pruned_below,max_batch) VALUES ", "(?,?,?)",
                                     " ON CONFLICT(instance_id) DO UPDATE SET pruned_below=excluded.pruned_below, max_batch=excluded.max_batch", 3);
  s->prune_batches_ = d.prepare("DELETE FROM batches WHERE instance_id=?1 AND batch<?2");
  s->upsert_grants_ = sql::multi_row(d, "INSERT INTO grants(grant_id,instance_id,name,count,reclaim) VALUES ", "(?,?,?,?,?)",
                                     " ON CONFLICT(grant_id) DO UPDATE SET reclaim=excluded.reclaim", 5);
  s->delete_grants_ = sql::multi_row(d, "DELETE FROM grants WHERE grant_id IN (", "?", ")", 1);
  s->drop_batches_ = d.prepare("DELETE FROM batches WHERE instance_id=?1");
  s->drop_state_ = d.prepare("DELETE FROM batch_state WHERE instance_id=?1");
  s->upsert_stats_ = sql::multi_row(d, "INSERT INTO stats(minute,instance_id,name,exported,imported) VALUES ", "(?,?,?,?,?)",
                                    " ON CONFLICT(minute,instance_id,name) DO UPDATE SET exported=exported+excluded.exported, "
                                    "imported=imported+excluded.imported",
                                    5);
  s->set_meta_ = d.prepare("INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  s->write_record_ = d.prepare("INSERT INTO commit_log(slot,seq,changes) VALUES(?1,?2,?3) "
                               "ON CONFLICT(slot) DO UPDATE SET seq=excluded.seq, changes=excluded.changes");
  for (auto& prepared : {s->insert_batch_.status(), s->prune_batches_.status(), s->drop_batches_.status(), s->drop_state_.status(),
                         s->set_meta_.status(), s->write_record_.status(), s->upsert_items_.status(), s->delete_items_.status(),
                         s->upsert_states_.status(), s->upsert_grants_.status(), s->delete_grants_.status(), s->upsert_stats_.status()})
    if (!prepared)
      return prepared.error();
  return s;
}

result<storage_snapshot> storage_db::load() {
  storage_snapshot out;
  auto& d = *db_;
  auto items = d.prepare("SELECT name,count FROM items");
  while (items.step())
    out.counts[items.text(0)] = items.int64(1);
  auto states = d.prepare("SELECT instance_id,pruned_below,max_batch FROM batch_state");
  while (states.step())
    out.states.push_back({static_cast<std::uint64_t>(states.int64(0)), static_cast<std::uint64_t>(states.int64(1)),
                          static_cast<std::uint64_t>(states.int64(2))});
  auto batches = d.prepare("SELECT instance_id,batch FROM batches");
  while (batches.step()) {
    out.batches.emplace_back(static_cast<std::uint64_t>(batches.int64(0)), static_cast<std::uint64_t>(batches.int64(1)));
    ++batch_rows_[out.batches.back().first];
  }
  auto grants = d.prepare("SELECT grant_id,instance_id,name,count,reclaim FROM grants");
  while (grants.step()) {
    out.grants.push_back({static_cast<std::uint64_t>(grants.int64(0)), static_cast<std::uint64_t>(grants.int64(1)), grants.text(2),
                          grants.int64(3), grants.int64(4) != 0});
    grants_in_table_.insert(out.grants.back().grant_id);
  }
  auto meta = d.prepare("SELECT key,value FROM meta WHERE key IN ('next_grant_id','folded_seq')");
  while (meta.step())
    (meta.text(0) == "next_grant_id" ? out.next_grant_id : folded_seq_) = static_cast<std::uint64_t>(meta.int64(1));
  for (auto* st : {&items, &states, &batches, &grants, &meta})
    if (auto status = st->status(); !status)
      return status.error();
  // The commits after the last fold, in order; their slots hold nothing older.
  seq_ = folded_seq_;
  auto records = d.prepare("SELECT seq,changes FROM commit_log WHERE seq > ?1 ORDER BY seq");
  records.bind(1, static_cast<std::int64_t>(folded_seq_));
  while (records.step()) {
    auto seq = static_cast<std::uint64_t>(records.int64(0));
    if (seq != seq_ + 1)
      return failure("commit log: record " + std::to_string(seq_ + 1) + " is missing (the next is " + std::to_string(seq) + ")");
    auto c = decode_record(records.blob(1));
    if (!c)
      return c.error().in("commit log: record " + std::to_string(seq));
    merge(*c);
    seq_ = seq;
  }
  if (auto status = records.status(); !status)
    return status.error();
  if (seq_ > folded_seq_) // else the tables are the whole state, as read
    replay(unfolded_changes(), out);
  loaded_ = true;
  return out;
}

void storage_db::merge(const storage_changes& c) {
  auto& u = unfolded_;
  // In the order write_rows applies a commit: an instance dropped, then what came after.
  for (auto id : c.instances_dropped) {
    u.states.erase(id);
    u.batches_added.erase(std::remove_if(u.batches_added.begin(), u.batches_added.end(), [id](const auto& b) { return b.first == id; }),
                          u.batches_added.end());
    u.instances_dropped.push_back(id);
  }
  for (auto& [name, count] : c.levels)
    u.levels[name] = count;
  u.batches_added.insert(u.batches_added.end(), c.batches_added.begin(), c.batches_added.end());
  for (auto& s : c.states)
    u.states[s.instance_id] = s;
  for (auto& g : c.grants_upserted)
    u.grants[g.grant_id] = g;
  for (auto id : c.grants_removed) {
    u.grants.erase(id);
    if (grants_in_table_.count(id) > 0)
      u.grants_removed.push_back(id);
  }
  if (c.next_grant_id != 0)
    u.next_grant_id = c.next_grant_id;
}

storage_changes storage_db::unfolded_changes() const {
  auto& u = unfolded_;
  storage_changes c;
  c.levels.assign(u.levels.begin(), u.levels.end());
  c.batches_added = u.batches_added;
  for (auto& [id, s] : u.states)
    c.states.push_back(s);
  for (auto& [id, g] : u.grants)
    c.grants_upserted.push_back(g);
  c.grants_removed = u.grants_removed;
  c.instances_dropped = u.instances_dropped;
  c.next_grant_id = u.next_grant_id;
  return c;
}

result<void> storage_db::fold() {
  auto c = unfolded_changes();
  if (auto written = write_rows(c); !written)
    return written;
  if (auto marked = set_meta_.bind(1, "folded_seq").bind(2, static_cast<std::int64_t>(seq_)).run(); !marked)
    return marked;
  for (auto& g : c.grants_upserted)
    grants_in_table_.insert(g.grant_id);
  for (auto id : c.grants_removed)
    grants_in_table_.erase(id);
  unfolded_ = {};
  folded_seq_ = seq_;
  return done();
}

result<void> storage_db::append_record(const storage_changes& c) {
  return write_record_.bind(1, static_cast<std::int64_t>(seq_ % commits_per_fold))
    .bind(2, static_cast<std::int64_t>(seq_))
    .bind_blob(3, encode_record(c, record_))
    .run();
}

result<void> storage_db::write_levels(const storage_changes& c) {
  stocked_.clear();
  emptied_.clear();
  for (auto& level : c.levels)
    (level.second > 0 ? stocked_ : emptied_).push_back(&level);
  if (auto upserted = upsert_items_.run(stocked_, [](sql::statement& st, int p, auto* level) { st.bind(p, level->first).bind(p + 1, level->second); });
      !upserted)
    return upserted;
  return delete_items_.run(emptied_, [](sql::statement& st, int p, auto* level) { st.bind(p, level->first); });
}

result<void> storage_db::write_batches(const storage_changes& c) {
  for (auto id : c.instances_dropped) {
    if (auto dropped = drop_batches_.bind(1, static_cast<std::int64_t>(id)).run(); !dropped)
      return dropped;
    if (auto dropped = drop_state_.bind(1, static_cast<std::int64_t>(id)).run(); !dropped)
      return dropped;
    batch_rows_.erase(id);
  }
  // Dedup records one by one: the count of rows each instance holds follows each insert.
  for (auto& [inst, batch] : c.batches_added) {
    if (auto inserted = insert_batch_.bind(1, static_cast<std::int64_t>(inst)).bind(2, static_cast<std::int64_t>(batch)).run(); !inserted)
      return inserted;
    batch_rows_[inst] += db_->changes();
  }
  if (auto upserted = upsert_states_.run(c.states,
                                         [](sql::statement& st, int p, const batch_state& s) {
                                           st.bind(p, static_cast<std::int64_t>(s.instance_id))
                                             .bind(p + 1, static_cast<std::int64_t>(s.pruned_below))
                                             .bind(p + 2, static_cast<std::int64_t>(s.max_batch));
                                         });
      !upserted)
    return upserted;
  for (auto& s : c.states) {
    auto rows = batch_rows_.find(s.instance_id);
    if (rows == batch_rows_.end() || rows->second <= 0)
      continue;
    if (auto pruned = prune_batches_.bind(1, static_cast<std::int64_t>(s.instance_id)).bind(2, static_cast<std::int64_t>(s.pruned_below)).run();
        !pruned)
      return pruned;
    rows->second -= db_->changes();
  }
  return done();
}

result<void> storage_db::write_grants(const storage_changes& c) {
  if (auto upserted = upsert_grants_.run(c.grants_upserted,
                                         [](sql::statement& st, int p, const reservation& g) {
                                           st.bind(p, static_cast<std::int64_t>(g.grant_id))
                                             .bind(p + 1, static_cast<std::int64_t>(g.instance_id))
                                             .bind(p + 2, g.name)
                                             .bind(p + 3, g.count)
                                             .bind(p + 4, g.reclaim ? 1 : 0);
                                         });
      !upserted)
    return upserted;
  if (auto deleted = delete_grants_.run(c.grants_removed, [](sql::statement& st, int p, std::uint64_t id) { st.bind(p, static_cast<std::int64_t>(id)); });
      !deleted)
    return deleted;
  if (c.next_grant_id != 0)
    return set_meta_.bind(1, "next_grant_id").bind(2, static_cast<std::int64_t>(c.next_grant_id)).run();
  return done();
}

result<void> storage_db::write_rows(const storage_changes& c) {
  if (auto written = write_levels(c); !written)
    return written;
  if (auto written = write_batches(c); !written)
    return written;
  return write_grants(c);
}

result<void> storage_db::write_commit(const storage_changes& c) {
  auto stats = upsert_stats_.run(c.stats, [](sql::statement& st, int p, const stat_delta& s) {
    st.bind(p, static_cast<std::int64_t>(s.minute))
      .bind(p + 1, static_cast<std::int64_t>(s.instance_id))
      .bind(p + 2, s.name)
      .bind(p + 3, s.exported)
      .bind(p + 4, s.imported);
  });
  if (!stats || c.only_stats())
    return stats;
  merge(c);
  // A log of commits_per_fold - 1 records at most: their slots are never reused unfolded.
  ++seq_;
  return seq_ - folded_seq_ >= commits_per_fold ? fold() : append_record(c);
}

result<void> storage_db::commit(const storage_changes& c) {
  if (!loaded_)
    return failure("storage: commit before load (the commit log's position is not known)");
  if (auto begun = db_->exec("BEGIN IMMEDIATE"); !begun)
    return begun;
  if (auto written = write_commit(c); !written) {
    (void)db_->exec("ROLLBACK");
    return written;
  }
  return db_->exec("COMMIT");
}

result<std::vector<storage_db::stat_row>> storage_db::query_stats(const std::string& name, std::uint64_t instance_id,
                                                                  std::uint64_t since_minute) {
  std::vector<stat_row> out;
  auto q = db_->prepare(
    "SELECT minute, SUM(exported), SUM(imported) FROM stats WHERE minute >= ?1 AND (?2 = '' OR name = ?2) "
    "AND (?3 = 0 OR instance_id = ?3) GROUP BY minute ORDER BY minute");
  q.bind(1, static_cast<std::int64_t>(since_minute)).bind(2, name).bind(3, static_cast<std::int64_t>(instance_id));
  while (q.step())
    out.push_back({static_cast<std::uint64_t>(q.int64(0)), q.int64(1), q.int64(2)});
  return rows_or_failure(q, std::move(out));
}

result<std::vector<storage_db::rate_row>> storage_db::query_rates(std::uint64_t since_minute) {
  std::vector<rate_row> out;
  auto q = db_->prepare("SELECT name, SUM(exported), SUM(imported) FROM stats WHERE minute >= ?1 GROUP BY name");
  q.bind(1, static_cast<std::int64_t>(since_minute));
  while (q.step())
    out.push_back({q.text(0), q.int64(1), q.int64(2)});
  return rows_or_failure(q, std::move(out));
}

result<std::vector<storage_db::series_row>> storage_db::query_series(const std::string& name, std::uint64_t instance_id,
                                                                     std::uint64_t since_minute, std::uint64_t bucket_minutes) {
  std::vector<series_row> out;
  // Minute rows and (older) hourly rows, bucketed alike; a bucket may hold both kinds while the
  // compaction boundary passes through it.
  auto q = db_->prepare(
    "SELECT b, instance_id, SUM(e), SUM(i) FROM ("
    " SELECT minute - minute % ?4 AS b, instance_id, exported AS e, imported AS i FROM stats"
    "  WHERE minute >= ?1 AND (?2 = '' OR name = ?2) AND (?3 = 0 OR instance_id = ?3)"
    " UNION ALL"
    " SELECT minute - minute % ?4 AS b, instance_id, exported AS e, imported AS i FROM stats_hourly"
    "  WHERE minute >= ?1 - 59 AND (?2 = '' OR name = ?2) AND (?3 = 0 OR instance_id = ?3))"
    " GROUP BY b, instance_id ORDER BY b, instance_id");
  q.bind(1, static_cast<std::int64_t>(since_minute))
    .bind(2, name)
    .bind(3, static_cast<std::int64_t>(instance_id))
    .bind(4, static_cast<std::int64_t>(bucket_minutes == 0 ? 1 : bucket_minutes));
  while (q.step())
    out.push_back({static_cast<std::uint64_t>(q.int64(0)), static_cast<std::uint64_t>(q.int64(1)), q.int64(2), q.int64(3)});
  return rows_or_failure(q, std::move(out));
}

result<void> storage_db::compact_stats(std::uint64_t before_minute) {
  if (auto begun = db_->exec("BEGIN IMMEDIATE"); !begun)
    return begun;
  auto move = db_->prepare(
    "INSERT INTO stats_hourly(minute,instance_id,name,exported,imported) "
    "SELECT minute - minute % 60, instance_id, name, SUM(exported), SUM(imported) FROM stats WHERE minute < ?1 "
    "GROUP BY minute - minute % 60, instance_id, name "
    "ON CONFLICT(minute,instance_id,name) DO UPDATE SET exported=exported+excluded.exported, "
    "imported=imported+excluded.imported");
  auto moved = move.bind(1, static_cast<std::int64_t>(before_minute)).run();
  if (moved) {
    auto del = db_->prepare("DELETE FROM stats WHERE minute < ?1");
    moved = del.bind(1, static_cast<std::int64_t>(before_minute)).run();
  }
  if (!moved) {
    (void)db_->exec("ROLLBACK");
    return moved.error().in("compacting statistics");
  }
  return db_->exec("COMMIT");
}

} // namespace clusterio

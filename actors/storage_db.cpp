#include "actors/storage_db.hpp"

namespace clusterio {

namespace {
constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS items(name TEXT PRIMARY KEY, count INTEGER NOT NULL CHECK(count >= 0)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches(instance_id INTEGER NOT NULL, batch INTEGER NOT NULL,
  PRIMARY KEY(instance_id, batch)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batch_state(instance_id INTEGER PRIMARY KEY, pruned_below INTEGER NOT NULL,
  max_batch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS grants(grant_id INTEGER PRIMARY KEY, instance_id INTEGER NOT NULL, name TEXT NOT NULL,
  count INTEGER NOT NULL CHECK(count > 0), reclaim INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stats(minute INTEGER NOT NULL, instance_id INTEGER NOT NULL, name TEXT NOT NULL,
  exported INTEGER NOT NULL, imported INTEGER NOT NULL, PRIMARY KEY(minute, instance_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats_hourly(minute INTEGER NOT NULL, instance_id INTEGER NOT NULL, name TEXT NOT NULL,
  exported INTEGER NOT NULL, imported INTEGER NOT NULL, PRIMARY KEY(minute, instance_id, name)) WITHOUT ROWID;
)sql";
} // namespace

std::unique_ptr<storage_db> storage_db::open(const std::string& path, bool full_sync, std::string& why) {
  auto db = sql::database::open(path, full_sync, why);
  if (!db)
    return nullptr;
  why = db->exec(schema);
  if (!why.empty())
    return nullptr;
  std::unique_ptr<storage_db> s(new storage_db(std::move(db)));
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
  s->set_next_grant_ = d.prepare("INSERT INTO meta(key,value) VALUES('next_grant_id',?1) "
                                 "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  for (auto& error : {s->insert_batch_.error(), s->prune_batches_.error(), s->drop_batches_.error(), s->drop_state_.error(),
                      s->set_next_grant_.error(), s->upsert_items_.error(), s->delete_items_.error(), s->upsert_states_.error(),
                      s->upsert_grants_.error(), s->delete_grants_.error(), s->upsert_stats_.error()})
    if (!error.empty()) {
      why = error;
      return nullptr;
    }
  return s;
}

std::string storage_db::load(storage_snapshot& out) {
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
  while (grants.step())
    out.grants.push_back({static_cast<std::uint64_t>(grants.int64(0)), static_cast<std::uint64_t>(grants.int64(1)), grants.text(2),
                          grants.int64(3), grants.int64(4) != 0});
  auto meta = d.prepare("SELECT value FROM meta WHERE key='next_grant_id'");
  if (meta.step())
    out.next_grant_id = static_cast<std::uint64_t>(meta.int64(0));
  for (auto* st : {&items, &states, &batches, &grants, &meta})
    if (!st->error().empty())
      return st->error();
  return {};
}

std::string storage_db::commit(const storage_changes& c) {
  auto why = db_->exec("BEGIN IMMEDIATE");
  if (!why.empty())
    return why;
  auto write = [&]() -> std::string {
    std::string e;
    stocked_.clear();
    emptied_.clear();
    for (auto& level : c.levels)
      (level.second > 0 ? stocked_ : emptied_).push_back(&level);
    e = upsert_items_.run(stocked_, [](sql::statement& st, int p, auto* level) { st.bind(p, level->first).bind(p + 1, level->second); });
    if (e.empty())
      e = delete_items_.run(emptied_, [](sql::statement& st, int p, auto* level) { st.bind(p, level->first); });
    if (!e.empty())
      return e;
    for (auto id : c.instances_dropped) {
      if (!(e = drop_batches_.bind(1, static_cast<std::int64_t>(id)).run()).empty())
        return e;
      if (!(e = drop_state_.bind(1, static_cast<std::int64_t>(id)).run()).empty())
        return e;
      batch_rows_.erase(id);
    }
    // Dedup records one by one: the count of rows each instance holds follows each insert.
    for (auto& [inst, batch] : c.batches_added) {
      if (!(e = insert_batch_.bind(1, static_cast<std::int64_t>(inst)).bind(2, static_cast<std::int64_t>(batch)).run()).empty())
        return e;
      batch_rows_[inst] += db_->changes();
    }
    e = upsert_states_.run(c.states, [](sql::statement& st, int p, const batch_state& s) {
      st.bind(p, static_cast<std::int64_t>(s.instance_id)).bind(p + 1, static_cast<std::int64_t>(s.pruned_below)).bind(p + 2, static_cast<std::int64_t>(s.max_batch));
    });
    if (!e.empty())
      return e;
    for (auto& s : c.states) {
      auto rows = batch_rows_.find(s.instance_id);
      if (rows == batch_rows_.end() || rows->second <= 0)
        continue;
      if (!(e = prune_batches_.bind(1, static_cast<std::int64_t>(s.instance_id)).bind(2, static_cast<std::int64_t>(s.pruned_below)).run()).empty())
        return e;
      rows->second -= db_->changes();
    }
    e = upsert_grants_.run(c.grants_upserted, [](sql::statement& st, int p, const reservation& g) {
      st.bind(p, static_cast<std::int64_t>(g.grant_id))
        .bind(p + 1, static_cast<std::int64_t>(g.instance_id))
        .bind(p + 2, g.name)
        .bind(p + 3, g.count)
        .bind(p + 4, g.reclaim ? 1 : 0);
    });
    if (e.empty())
      e = delete_grants_.run(c.grants_removed, [](sql::statement& st, int p, std::uint64_t id) { st.bind(p, static_cast<std::int64_t>(id)); });
    if (e.empty())
      e = upsert_stats_.run(c.stats, [](sql::statement& st, int p, const stat_delta& s) {
        st.bind(p, static_cast<std::int64_t>(s.minute))
          .bind(p + 1, static_cast<std::int64_t>(s.instance_id))
          .bind(p + 2, s.name)
          .bind(p + 3, s.exported)
          .bind(p + 4, s.imported);
      });
    if (e.empty() && c.next_grant_id != 0)
      e = set_next_grant_.bind(1, static_cast<std::int64_t>(c.next_grant_id)).run();
    return e;
  };
  why = write();
  if (!why.empty()) {
    db_->exec("ROLLBACK");
    return why;
  }
  return db_->exec("COMMIT");
}

std::string storage_db::query_stats(const std::string& name, std::uint64_t instance_id, std::uint64_t since_minute,
                                    std::vector<stat_row>& out) {
  auto q = db_->prepare(
    "SELECT minute, SUM(exported), SUM(imported) FROM stats WHERE minute >= ?1 AND (?2 = '' OR name = ?2) "
    "AND (?3 = 0 OR instance_id = ?3) GROUP BY minute ORDER BY minute");
  q.bind(1, static_cast<std::int64_t>(since_minute)).bind(2, name).bind(3, static_cast<std::int64_t>(instance_id));
  while (q.step())
    out.push_back({static_cast<std::uint64_t>(q.int64(0)), q.int64(1), q.int64(2)});
  return q.error();
}

std::string storage_db::query_rates(std::uint64_t since_minute, std::vector<rate_row>& out) {
  auto q = db_->prepare("SELECT name, SUM(exported), SUM(imported) FROM stats WHERE minute >= ?1 GROUP BY name");
  q.bind(1, static_cast<std::int64_t>(since_minute));
  while (q.step())
    out.push_back({q.text(0), q.int64(1), q.int64(2)});
  return q.error();
}

std::string storage_db::query_series(const std::string& name, std::uint64_t instance_id, std::uint64_t since_minute,
                                     std::uint64_t bucket_minutes, std::vector<series_row>& out) {
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
  return q.error();
}

std::string storage_db::compact_stats(std::uint64_t before_minute) {
  if (auto why = db_->exec("BEGIN IMMEDIATE"); !why.empty())
    return why;
  auto move = db_->prepare(
    "INSERT INTO stats_hourly(minute,instance_id,name,exported,imported) "
    "SELECT minute - minute % 60, instance_id, name, SUM(exported), SUM(imported) FROM stats WHERE minute < ?1 "
    "GROUP BY minute - minute % 60, instance_id, name "
    "ON CONFLICT(minute,instance_id,name) DO UPDATE SET exported=exported+excluded.exported, "
    "imported=imported+excluded.imported");
  auto why = move.bind(1, static_cast<std::int64_t>(before_minute)).run();
  if (why.empty()) {
    auto del = db_->prepare("DELETE FROM stats WHERE minute < ?1");
    why = del.bind(1, static_cast<std::int64_t>(before_minute)).run();
  }
  if (!why.empty()) {
    db_->exec("ROLLBACK");
    return "compacting statistics: " + why;
  }
  return db_->exec("COMMIT");
}

} // namespace clusterio

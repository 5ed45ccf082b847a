// storage_db on a real SQLite file: a commit of many rows of every kind (more than one statement
// chunk: the writes go 64, 32, ... rows per statement) is read back exactly by load(), whether
// it is still in the commit log or folded into the tables; what the log and the folds do to the
// tables; a damaged log is an error, not a silently different state.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "store/storage_db.hpp"

using namespace clusterio;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/clusterio-storage-db-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

/// Opens the database and loads it (as the storage actor does before its first commit).
std::unique_ptr<storage_db> open_db(const std::string& file, storage_snapshot& snap) {
  auto db = storage_db::open(file, false);
  INFO(db.why());
  REQUIRE(db);
  auto loaded = (*db)->load();
  INFO(loaded.why());
  REQUIRE(loaded);
  snap = std::move(*loaded);
  return std::move(*db);
}

std::unique_ptr<storage_db> open_db(const std::string& file) {
  storage_snapshot ignored;
  return open_db(file, ignored);
}

/// One integer from the database, read with a connection of the test's own.
std::int64_t query(const std::string& file, const std::string& sql) {
  auto db = sql::database::open(file, false);
  INFO(db.why());
  REQUIRE(db);
  auto st = (*db)->prepare(sql);
  REQUIRE(st.step());
  return st.int64(0);
}

/// Commits changes that move nothing but the grant counter until the commit that folds the log.
void commit_until_fold(storage_db& db, std::uint64_t commits_so_far, std::uint64_t next_grant_id) {
  storage_changes same;
  same.next_grant_id = next_grant_id;
  for (auto n = commits_so_far; n < storage_db::commits_per_fold; ++n)
    REQUIRE(db.commit(same));
}

} // namespace

TEST_CASE("a commit of many rows of every kind is loaded back exactly") {
  temp_dir dir;
  auto file = dir.path + "/master.db";
  // 1, 2 and odd numbers of rows, and more than the largest chunk of 64.
  bool folded = GENERATE(false, true);
  for (std::size_t rows : {1, 2, 63, 64, 65, 201}) {
    DYNAMIC_SECTION(rows << " rows per kind, " << (folded ? "folded into the tables" : "replayed from the log")) {
      std::map<std::string, std::int64_t> levels;
      std::map<std::uint64_t, batch_state> states;
      std::map<std::uint64_t, reservation> grants;
      {
        auto db = open_db(file);
        storage_changes c;
        for (std::size_t i = 0; i < rows; ++i) {
          auto name = "item-" + std::to_string(i);
          c.levels.emplace_back(name, static_cast<std::int64_t>(i + 1));
          levels[name] = static_cast<std::int64_t>(i + 1);
          batch_state s{i + 1, 10 * i + 5, 10 * i + 9};
          c.states.push_back(s);
          states[s.instance_id] = s;
          reservation g{1000 + i, i % 7 + 1, name, static_cast<std::int64_t>(i % 50 + 1), i % 3 == 0};
          c.grants_upserted.push_back(g);
          grants[g.grant_id] = g;
          c.stats.push_back({42, i % 7 + 1, name, static_cast<std::int64_t>(i), 1});
        }
        c.next_grant_id = 1000 + rows;
        REQUIRE(db->commit(c));

        // Second commit: every third level goes to zero (its row deleted), every other grant is
        // confirmed (deleted), one grant is upserted twice in the same statement.
        storage_changes d;
        for (std::size_t i = 0; i < rows; i += 3) {
          auto name = "item-" + std::to_string(i);
          d.levels.emplace_back(name, 0);
          levels.erase(name);
        }
        for (std::size_t i = 0; i < rows; i += 2) {
          d.grants_removed.push_back(1000 + i);
          grants.erase(1000 + i);
        }
        if (rows > 1) {
          auto g = grants.at(1001);
          d.grants_upserted.push_back(g);
          g.reclaim = !g.reclaim;
          d.grants_upserted.push_back(g);
          grants[1001] = g;
        }
        REQUIRE(db->commit(d));
        if (folded)
          commit_until_fold(*db, 2, 1000 + rows);
      }
      // Folded: the tables hold it all, the log nothing more. Otherwise the tables hold none of it.
      CHECK(query(file, "SELECT COUNT(*) FROM meta WHERE key='folded_seq'") == (folded ? 1 : 0));
      CHECK(query(file, "SELECT COUNT(*) FROM grants") == (folded ? static_cast<std::int64_t>(grants.size()) : 0));
      CHECK(query(file, "SELECT COUNT(*) FROM items") == (folded ? static_cast<std::int64_t>(levels.size()) : 0));
      storage_snapshot snap;
      auto db = open_db(file, snap);
      CHECK(snap.counts.size() == levels.size());
      for (auto& [name, count] : levels)
        CHECK(snap.counts[name] == count);
      REQUIRE(snap.states.size() == states.size());
      for (auto& s : snap.states) {
        CHECK(s.pruned_below == states.at(s.instance_id).pruned_below);
        CHECK(s.max_batch == states.at(s.instance_id).max_batch);
      }
      REQUIRE(snap.grants.size() == grants.size());
      for (auto& g : snap.grants) {
        auto& want = grants.at(g.grant_id);
        CHECK(g.instance_id == want.instance_id);
        CHECK(g.name == want.name);
        CHECK(g.count == want.count);
        CHECK(g.reclaim == want.reclaim);
      }
      CHECK(snap.next_grant_id == 1000 + rows);
      auto rates = db->query_rates(0);
      REQUIRE(rates);
      CHECK(rates->size() == rows);
      std::int64_t exported = 0;
      for (auto& r : *rates)
        exported += r.exported;
      CHECK(exported == static_cast<std::int64_t>(rows * (rows - 1) / 2));
      std::filesystem::remove_all(dir.path);
      std::filesystem::create_directories(dir.path);
    }
  }
}

TEST_CASE("the commit log: what reaches the tables, and what a restart reads back") {
  temp_dir dir;
  auto file = dir.path + "/master.db";
  const std::uint64_t k = storage_db::commits_per_fold;
  {
    auto db = open_db(file);
    // Fold 1 (commit k): grant 1 is still out, instance 7 has a state and a dedup record.
    storage_changes first;
    first.levels = {{"iron-plate", 100}};
    first.grants_upserted = {{1, 7, "iron-plate", 5, false}};
    first.states = {{7, 3, 9}};
    first.batches_added = {{7, 5}};
    first.next_grant_id = 2;
    REQUIRE(db->commit(first));
    commit_until_fold(*db, 1, 2);
    CHECK(query(file, "SELECT value FROM meta WHERE key='folded_seq'") == static_cast<std::int64_t>(k));
    CHECK(query(file, "SELECT COUNT(*) FROM grants") == 1);
    CHECK(query(file, "SELECT COUNT(*) FROM batches") == 1);

    // Between folds: grant 2 made and confirmed (never a row), grant 1 confirmed (its row goes
    // at the next fold), instance 7 dropped, then its id used again with a fresh state.
    storage_changes made;
    made.grants_upserted = {{2, 8, "copper-plate", 3, false}};
    made.next_grant_id = 3;
    storage_changes confirmed;
    confirmed.grants_removed = {1, 2};
    confirmed.levels = {{"iron-plate", 0}, {"copper-plate", 4}};
    storage_changes dropped;
    dropped.instances_dropped = {7};
    storage_changes again;
    again.states = {{7, 1, 1}};
    for (auto* c : {&made, &confirmed, &dropped, &again})
      REQUIRE(db->commit(*c));
    // Still in the log: the tables have not changed.
    CHECK(query(file, "SELECT COUNT(*) FROM grants") == 1);
    CHECK(query(file, "SELECT COUNT(*) FROM commit_log WHERE seq > " + std::to_string(k)) == 4);
  }
  auto check = [](const storage_snapshot& snap) {
    CHECK(snap.counts.size() == 1);
    CHECK(snap.counts.count("copper-plate") == 1);
    CHECK(snap.grants.empty());
    REQUIRE(snap.states.size() == 1);
    CHECK(snap.states[0].instance_id == 7);
    CHECK(snap.states[0].pruned_below == 1);
    CHECK(snap.batches.empty());
    CHECK(snap.next_grant_id == 3);
  };
  {
    storage_snapshot snap;
    auto db = open_db(file, snap);
    check(snap);
    // The next fold writes the replayed records: the confirmed grant's row and the dropped
    // instance's record go, and grant 2 never had a row.
    commit_until_fold(*db, 4, 3);
    CHECK(query(file, "SELECT COUNT(*) FROM grants") == 0);
    CHECK(query(file, "SELECT COUNT(*) FROM batches") == 0);
    CHECK(query(file, "SELECT COUNT(*) FROM items") == 1);
    CHECK(query(file, "SELECT value FROM meta WHERE key='folded_seq'") == static_cast<std::int64_t>(2 * k));
  }
  storage_snapshot snap;
  auto db = open_db(file, snap);
  check(snap);
}

TEST_CASE("a damaged commit log is an error naming the record") {
  temp_dir dir;
  auto file = dir.path + "/master.db";
  {
    auto db = open_db(file);
    storage_changes c;
    c.levels = {{"iron-plate", 1}};
    for (int i = 0; i < 3; ++i)
      REQUIRE(db->commit(c));
  }
  // Damages the log with `sql`; what load() says then. Nothing may be committed after it.
  auto load_after = [&file](const std::string& damage) {
    auto raw = sql::database::open(file, false);
    REQUIRE(raw);
    REQUIRE((*raw)->exec(damage));
    raw->reset(); // closes the test's connection
    auto db = storage_db::open(file, false);
    REQUIRE(db);
    auto loaded = (*db)->load();
    REQUIRE_FALSE(loaded);
    CHECK((*db)->commit(storage_changes{}).why() == "storage: commit before load (the commit log's position is not known)");
    return loaded.why();
  };
  SECTION("a record that is not one") {
    CHECK_THAT(load_after("UPDATE commit_log SET changes = x'93c0c0c0' WHERE seq = 2"), Catch::Contains("commit log: record 2: not a valid record"));
  }
  SECTION("a record missing") {
    CHECK(load_after("DELETE FROM commit_log WHERE seq = 2") == "commit log: record 2 is missing (the next is 3)");
  }
}

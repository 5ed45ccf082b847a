// storage_db on a real SQLite file: a commit of many rows of every kind (more than one statement
// chunk: the writes go 64, 32, ... rows per statement) is read back exactly by load().

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "actors/storage_db.hpp"

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

std::unique_ptr<storage_db> open_db(const std::string& file) {
  std::string why;
  auto db = storage_db::open(file, false, why);
  INFO(why);
  REQUIRE(db);
  return db;
}

} // namespace

TEST_CASE("a commit of many rows of every kind is loaded back exactly") {
  temp_dir dir;
  auto file = dir.path + "/master.db";
  // 1, 2 and odd numbers of rows, and more than the largest chunk of 64.
  for (std::size_t rows : {1, 2, 63, 64, 65, 201}) {
    DYNAMIC_SECTION(rows << " rows per kind") {
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
        REQUIRE(db->commit(c) == "");

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
        REQUIRE(db->commit(d) == "");
      }
      auto db = open_db(file);
      storage_snapshot snap;
      REQUIRE(db->load(snap) == "");
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
      std::vector<storage_db::rate_row> rates;
      REQUIRE(db->query_rates(0, rates) == "");
      CHECK(rates.size() == rows);
      std::int64_t exported = 0;
      for (auto& r : rates)
        exported += r.exported;
      CHECK(exported == static_cast<std::int64_t>(rows * (rows - 1) / 2));
      std::filesystem::remove_all(dir.path);
      std::filesystem::create_directories(dir.path);
    }
  }
}

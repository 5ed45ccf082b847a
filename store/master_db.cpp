#include "store/master_db.hpp"

namespace clusterio {

std::unique_ptr<sql::database> open_master_db(const std::string& path, bool full_sync, std::string& why) {
  auto db = sql::database::open(path, full_sync, why);
  if (!db)
    return nullptr;
  // Sorts and temporary tables in memory (they are small here): a full disk must not keep the
  // master from reading what it has committed, to start or to recover from a failed commit.
  if (auto e = db->exec("PRAGMA temp_store=MEMORY"); !e.empty()) {
    why = path + ": " + e;
    return nullptr;
  }
  auto q = db->prepare("PRAGMA user_version");
  if (!q.step()) {
    why = path + ": " + q.error();
    return nullptr;
  }
  auto version = q.int64(0);
  q.reset();
  if (version > master_db_version) {
    why = path + " was written by a newer clusterio-master (database version " + std::to_string(version) + "; this one reads version " +
          std::to_string(master_db_version) + "): run that version, or restore the backup made before the upgrade";
    return nullptr;
  }
  if (version < master_db_version) {
    if (auto e = db->exec("PRAGMA user_version=" + std::to_string(master_db_version)); !e.empty()) {
      why = path + ": " + e;
      return nullptr;
    }
  }
  return db;
}

} // namespace clusterio

#include "store/master_db.hpp"

namespace clusterio {

result<std::unique_ptr<sql::database>> open_master_db(const std::string& path, bool full_sync, std::string_view tables) {
  auto opened = sql::database::open(path, full_sync);
  if (!opened)
    return opened;
  auto& db = *opened;
  // Sorts and temporary tables in memory (they are small here): a full disk must not keep the
  // master from reading what it has committed, to start or to recover from a failed commit.
  if (auto set = db->exec("PRAGMA temp_store=MEMORY"); !set)
    return set.error().in(path);
  auto q = db->prepare("PRAGMA user_version");
  if (!q.step())
    return q.status().error().in(path);
  auto version = q.int64(0);
  q.reset();
  if (version > master_db_version)
    return failure(path + " was written by a newer clusterio-master (database version " + std::to_string(version) +
                   "; this one reads version " + std::to_string(master_db_version) +
                   "): run that version, or restore the backup made before the upgrade");
  if (version < master_db_version)
    if (auto set = db->exec("PRAGMA user_version=" + std::to_string(master_db_version)); !set)
      return set.error().in(path);
  if (auto made = db->exec(tables); !made)
    return made.error().in(path);
  return opened;
}

result<void> delete_named(sql::database& db, std::string_view table, const std::string& name, std::string_view what) {
  auto st = db.prepare("DELETE FROM " + std::string(table) + " WHERE name=?1 RETURNING name");
  st.bind(1, name);
  bool found = st.step();
  auto status = st.status();
  st.reset();
  if (!status)
    return status;
  if (!found)
    return failure("no " + std::string(what) + " named '" + name + "'");
  return done();
}

} // namespace clusterio

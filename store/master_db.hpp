#pragma once
// master.db, the master's one database. Storage, registry, commands and the allow-list each open
// their own connection to it, all through open_master_db(), so that each checks the file's
// version first.

#include <memory>
#include <string>
#include <string_view>

#include "common/sqlite.hpp"

namespace clusterio {

/// The layout of master.db this build reads and writes, kept in SQLite's `user_version`. Bump it
/// with every change an older build would misread (and migrate from the one before, in
/// open_master_db): an older build then refuses the file rather than misreading it.
///   1: items, batches, batch_state, grants, meta, commit_log, stats, stats_hourly (storage);
///      instances, ups_history (registry); clients (allow-list); audit (commands) and web_users
///      (the page's users): tables added later, which older builds of version 1 leave alone.
inline constexpr int master_db_version = 1;

/// Opens master.db as sql::database::open does (with temporary storage in memory), checks its
/// version — a file of a newer build is refused (the failure says so); one without a version
/// (new, or from before versions) is stamped with master_db_version — then runs `tables`, the
/// caller's CREATE ... IF NOT EXISTS statements.
result<std::unique_ptr<sql::database>> open_master_db(const std::string& path, bool full_sync, std::string_view tables);

/// Deletes the row of `table` whose `name` column is `name`; none is a failure: "no <what> named
/// '<name>'" (the CLI's remove commands say it).
result<void> delete_named(sql::database& db, std::string_view table, const std::string& name, std::string_view what);

} // namespace clusterio

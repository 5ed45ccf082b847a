#include "common/sqlite.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/stat.h>
#include <thread>

#include <sqlite3.h>

namespace clusterio::sql {

namespace {
/// SQLite checkpoints (copies the WAL into the database file, syncing both) inside the commit
/// that leaves more than this many pages in the WAL; the commit waits for it. With `full_sync`
/// every commit syncs anyway, and a small WAL rewritten in place keeps each of those syncs from
/// also journaling the file's growth (a WAL ten times larger measured 2-3 % slower in
/// master-load). Without `full_sync` a checkpoint's syncs are the only ones, and the first
/// writes out all the WAL written since the last: the commit waits for that, so the fewer pages
/// the shorter the wait. master-load paced at 100,000 msgs/s (N=100), p99: 2.6-3.5 ms at 300
/// pages, 4.5-6.1 at 1,000, 10-15 at 10,000; saturated, 210,000 msgs/s against 217,000-229,000
/// at 10,000. (On an earlier host whose syncs stalled the whole VM, 10,000 measured best in
/// the closed loop.) See docs/benchmarks.md.
constexpr int wal_checkpoint_pages_full_sync = 1000; // SQLite's default
constexpr int wal_checkpoint_pages_process = 300;
} // namespace

statement::statement(statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_), sql_(std::move(o.sql_)), error_(std::move(o.error_)) {
  o.stmt_ = nullptr;
}

statement& statement::operator=(statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    sql_ = std::move(o.sql_);
    error_ = std::move(o.error_);
    o.stmt_ = nullptr;
  }
  return *this;
}

statement::~statement() { sqlite3_finalize(stmt_); }

statement& statement::bind(int index, std::int64_t value) {
  if (stmt_)
    sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

statement& statement::bind(int index, std::string_view value) {
  if (stmt_)
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

statement& statement::bind_blob(int index, std::string_view bytes) {
  if (stmt_)
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

bool statement::step() {
  if (!stmt_) {
    if (error_.empty())
      error_ = "statement not prepared: " + sql_;
    return false;
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  if (rc != SQLITE_DONE)
    error_ = std::string(sqlite3_errmsg(db_)) + " in: " + sql_;
  return false;
}

result<void> statement::run() {
  while (step()) {
  }
  reset();
  return status();
}

result<void> statement::status() const {
  if (error_.empty())
    return done();
  return failure(error_);
}

void statement::reset() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

std::int64_t statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string statement::text(int column) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::string_view statement::blob(int column) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string_view();
}

result<std::unique_ptr<database>> database::open(const std::string& path, bool full_sync) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    failure why(path + ": " + (db ? sqlite3_errmsg(db) : "cannot open"));
    sqlite3_close(db);
    return why;
  }
  std::unique_ptr<database> out(new database(db));
  // SQLite creates the file 0644 less the umask, and gives the -wal and -shm files it creates
  // (below, at the switch to WAL) the file's mode. By path: closing a descriptor of the file
  // would drop the POSIX locks that this process's other connections hold on it.
  if (::chmod(path.c_str(), 0600) != 0)
    return failure(path + ": chmod 600: " + std::strerror(errno), errno);
  sqlite3_busy_timeout(db, 5000);
  // Switching to WAL needs a moment alone with the file, and SQLite does not wait for it through
  // the busy handler: when another process opens the database at the same time, try again.
  result<void> set_up;
  for (int attempt = 0; attempt < 100; ++attempt) {
    set_up = out->exec(std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + (full_sync ? "FULL" : "NORMAL") +
                       "; PRAGMA wal_autocheckpoint=" +
                       std::to_string(full_sync ? wal_checkpoint_pages_full_sync : wal_checkpoint_pages_process) + ";");
    if (set_up || (set_up.why().find("locked") == std::string::npos && set_up.why().find("busy") == std::string::npos))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!set_up)
    return set_up.error().in(path);
  return out;
}

database::~database() { sqlite3_close(db_); }

std::int64_t database::changes() const { return sqlite3_changes(db_); }

result<void> database::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    failure why(std::string(err ? err : "error") + " in: " + s);
    sqlite3_free(err);
    return why;
  }
  return done();
}

statement database::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  std::string text(sql);
  statement st(db_, nullptr, text);
  if (sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    st.error_ = std::string(sqlite3_errmsg(db_)) + " in: " + text;
    return st;
  }
  st.stmt_ = s;
  return st;
}

multi_row::multi_row(database& db, std::string head, std::string row, std::string tail, int params_per_row)
  : db_(&db), head_(std::move(head)), row_(std::move(row)), tail_(std::move(tail)), params_(params_per_row) {}

statement& multi_row::chunk(std::size_t size_log2) {
  if (!prepared_[size_log2]) {
    std::string sql = head_;
    for (std::size_t i = 0; i < (std::size_t{1} << size_log2); ++i)
      sql += (i ? "," : "") + row_;
    chunks_[size_log2] = db_->prepare(sql + tail_);
    prepared_[size_log2] = true;
  }
  return chunks_[size_log2];
}

} // namespace clusterio::sql

#pragma once
// A thin RAII layer over SQLite: a connection and prepared statements. Errors are values: every
// call that can fail returns "" on success or a message naming the SQL and SQLite's reason.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace clusterio::sql {

class statement {
public:
  statement() = default;
  statement(statement&&) noexcept;
  statement& operator=(statement&&) noexcept;
  ~statement();

  statement& bind(int index, std::int64_t value);
  statement& bind(int index, std::string_view value);
  /// Steps once. Returns true when a row is available, false when done; sets error() on failure.
  bool step();
  /// Steps until done and resets. Returns "" or the error.
  std::string run();
  void reset();

  std::int64_t int64(int column) const;
  std::string text(int column) const;
  const std::string& error() const { return error_; }

private:
  friend class database;
  statement(sqlite3* db, sqlite3_stmt* s, std::string sql) : db_(db), stmt_(s), sql_(std::move(sql)) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
  std::string error_;
};

class database {
public:
  /// Opens (creating if needed) a database in WAL mode. `full_sync`: fsync every commit
  /// (survives power loss); otherwise a commit survives a crash of the process, not of the OS.
  static std::unique_ptr<database> open(const std::string& path, bool full_sync, std::string& why);
  ~database();

  /// Runs one or more statements without results. Returns "" or the error.
  std::string exec(std::string_view sql);
  /// Prepares a statement; on failure the statement's error() is set and step() fails.
  statement prepare(std::string_view sql);
  /// Rows changed by the last INSERT, UPDATE or DELETE that ran on this connection.
  std::int64_t changes() const;

private:
  explicit database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

} // namespace clusterio::sql

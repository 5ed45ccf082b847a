#pragma once
// A thin RAII layer over SQLite: a connection and prepared statements. Errors are values: every
// call that can fail returns a result whose failure names the SQL and SQLite's reason.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

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
  statement& bind_blob(int index, std::string_view bytes);
  /// Steps once. Returns true when a row is available, false when done or failed (status()).
  bool step();
  /// Steps until done and resets.
  result<void> run();
  void reset();

  std::int64_t int64(int column) const;
  std::string text(int column) const;
  /// A blob column's bytes, valid until the next step() or reset().
  std::string_view blob(int column) const;
  /// Whether every step so far (and the preparation) succeeded.
  result<void> status() const;

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
  /// (survives power loss); otherwise a commit survives a crash of the process, not of the OS,
  /// and the WAL is checkpointed every ~1 MB (see wal_checkpoint_pages_process).
  static result<std::unique_ptr<database>> open(const std::string& path, bool full_sync);
  ~database();

  /// Runs one or more statements without results.
  result<void> exec(std::string_view sql);
  /// Prepares a statement; on failure the statement's status() says why and step() fails.
  statement prepare(std::string_view sql);
  /// Rows changed by the last INSERT, UPDATE or DELETE that ran on this connection.
  std::int64_t changes() const;

private:
  explicit database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

/// One statement over many rows: `head`, then `row` repeated and comma-separated, then `tail`;
/// e.g. "INSERT INTO t(a,b) VALUES " "(?,?)" " ON CONFLICT(a) DO UPDATE SET b=excluded.b", or
/// "DELETE FROM t WHERE a IN (" "?" ")". SQLite's cost per statement (reset, bind, step, halt)
/// is several times its cost per row, so a commit of 40 rows runs 2 statements instead of 40.
/// One statement is prepared per chunk size (the powers of two up to 64), on first use.
class multi_row {
public:
  multi_row() = default;
  multi_row(database& db, std::string head, std::string row, std::string tail, int params_per_row);

  /// Runs the statement over `rows`; `bind(statement&, int first_param, const row&)` binds one
  /// row's parameters, numbered from first_param.
  template <class Rows, class Bind> result<void> run(const Rows& rows, Bind bind) {
    for (std::size_t done = 0; done < rows.size();) {
      std::size_t size_log2 = 0;
      while (size_log2 + 1 < chunks_.size() && (std::size_t{2} << size_log2) <= rows.size() - done)
        ++size_log2;
      auto& st = chunk(size_log2);
      std::size_t n = std::size_t{1} << size_log2;
      for (std::size_t i = 0; i < n; ++i)
        bind(st, static_cast<int>(i) * params_ + 1, rows[done + i]);
      if (auto ran = st.run(); !ran) {
        auto& why = ran.error().what();
        return failure("(" + std::to_string(n) + " rows of " + head_ + row_ + "," + tail_ + "): " + why.substr(0, why.find(" in: ")));
      }
      done += n;
    }
    return clusterio::done();
  }

  /// Whether the single-row statement's SQL prepares.
  result<void> status() { return chunk(0).status(); }

private:
  statement& chunk(std::size_t size_log2);

  database* db_ = nullptr;
  std::string head_, row_, tail_;
  int params_ = 0;
  std::array<statement, 7> chunks_; ///< 1, 2, 4 ... 64 rows
  std::array<bool, 7> prepared_{};
};

} // namespace clusterio::sql

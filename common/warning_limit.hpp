#pragma once
// Limits the warnings that outside input can cause, so that a client sending bad frames, or an
// address knocking with unknown keys, cannot flood a log: per (client, cause), the first few
// warnings of each minute are logged, the rest only counted, and the count is logged as one line
// "N similar warnings ... suppressed" once the minute is over. A warning that repeats with every
// report (two hosts under one credential) takes one line a minute.
//
// Not thread-safe: each user (the gateway's socket thread, an actor) has its own.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"

namespace clusterio {

class warning_limit {
public:
  /// Warnings logged per (client, cause) per window by default; the rest are counted.
  static constexpr std::uint32_t default_lines_per_window = 5;
  static constexpr std::uint64_t window_ms = 60000;
  /// (client, cause) pairs kept: the clients are outside input (names, addresses), so the table
  /// must not grow with them.
  static constexpr std::size_t default_max_keys = 4096;

  /// `time` must outlive the limit.
  explicit warning_limit(const clock& time, std::uint32_t lines_per_window = default_lines_per_window,
                         std::size_t max_keys = default_max_keys)
    : time_(time), lines_per_window_(lines_per_window), max_keys_(max_keys) {}
  /// Reports what is still counted: a master stopping during a flood says how big it was.
  ~warning_limit();
  warning_limit(const warning_limit&) = delete;
  warning_limit& operator=(const warning_limit&) = delete;

  /// Whether to log a warning about `client` for `cause` now (the caller logs it). `cause` is
  /// what the warning is about, as the line of the suppressed count starts, e.g.
  /// "gateway: bad frame".
  bool admit(std::string_view client, std::string_view cause);

  /// Logs the suppressed count of every window that is over, and forgets those windows. Cheap
  /// to call often: it looks at the table at most once a second.
  void report_suppressed();

  /// (client, cause) pairs held now.
  std::size_t keys() const { return windows_.size(); }

private:
  struct window {
    std::uint64_t start_ms = 0;
    std::uint32_t logged = 0;
    std::uint64_t suppressed = 0;
    std::size_t client_bytes = 0; ///< the key is client, U+001F, cause
  };
  using table = std::unordered_map<std::string, window>;

  /// Logs the window's suppressed count, if any.
  void report(const table::value_type& entry, std::uint64_t now) const;
  /// Forgets (reporting them) the windows over by `now`; every window if `all`.
  void close_windows(std::uint64_t now, bool all);

  const clock& time_;
  std::uint32_t lines_per_window_;
  std::size_t max_keys_;
  std::uint64_t last_sweep_ms_ = 0;
  table windows_;
};

} // namespace clusterio

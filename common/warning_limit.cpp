#include "common/warning_limit.hpp"

#include <spdlog/spdlog.h>

namespace clusterio {

namespace {

/// How often report_suppressed looks at the table.
constexpr std::uint64_t sweep_ms = 1000;

} // namespace

warning_limit::~warning_limit() { close_windows(time_.mono_ms(), true); }

bool warning_limit::admit(std::string_view client, std::string_view cause) {
  auto now = time_.mono_ms();
  std::string key;
  key.reserve(client.size() + 1 + cause.size());
  key.append(client).append(1, '\x1f').append(cause);
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (windows_.size() >= max_keys_) {
      close_windows(now, false);
      if (windows_.size() >= max_keys_)
        close_windows(now, true); // all within their minute: each starts a new one, after its count
    }
    it = windows_.emplace(std::move(key), window{now, 0, 0, client.size()}).first;
  } else if (now - it->second.start_ms >= window_ms) {
    report(*it, now);
    it->second = window{now, 0, 0, client.size()};
  }
  auto& w = it->second;
  if (w.logged < lines_per_window_) {
    ++w.logged;
    return true;
  }
  ++w.suppressed;
  return false;
}

void warning_limit::report_suppressed() {
  auto now = time_.mono_ms();
  if (now - last_sweep_ms_ < sweep_ms)
    return;
  last_sweep_ms_ = now;
  close_windows(now, false);
}

void warning_limit::report(const table::value_type& entry, std::uint64_t now) const {
  auto& [key, w] = entry;
  if (w.suppressed == 0)
    return;
  auto client = std::string_view(key).substr(0, w.client_bytes);
  auto cause = std::string_view(key).substr(w.client_bytes + 1);
  spdlog::warn("{}: {} similar warnings about '{}' suppressed in the last {} s", cause, w.suppressed, client,
               (now - w.start_ms + 999) / 1000);
}

void warning_limit::close_windows(std::uint64_t now, bool all) {
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (all || now - it->second.start_ms >= window_ms) {
      report(*it, now);
      it = windows_.erase(it);
    } else {
      ++it;
    }
  }
}

} // namespace clusterio

#include "control/rate_limit.hpp"

#include <algorithm>

namespace clusterio {

rate_limit::bucket& rate_limit::refilled(const std::string& client) {
  auto now = time_.mono_ms();
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_)
      evict(now);
    it = buckets_.emplace(client, bucket{burst_, now}).first;
  }
  auto& b = it->second;
  b.tokens = level(b, now);
  b.at_ms = now;
  return b;
}

double rate_limit::level(const bucket& b, std::uint64_t now) const {
  return std::min(burst_, b.tokens + static_cast<double>(now - b.at_ms) * rate_ / 1000.0);
}

bool rate_limit::admit(const std::string& client) {
  if (rate_ <= 0)
    return true;
  auto& b = refilled(client);
  if (b.tokens < 1.0)
    return false;
  b.tokens -= 1.0;
  return true;
}

bool rate_limit::in_credit(const std::string& client) { return rate_ <= 0 || refilled(client).tokens > 0; }

void rate_limit::charge(const std::string& client, double amount) {
  if (rate_ <= 0)
    return;
  auto& b = refilled(client);
  b.tokens = std::max(-burst_, b.tokens - amount);
}

void rate_limit::evict(std::uint64_t now) {
  for (auto b = buckets_.begin(); b != buckets_.end();)
    b = level(b->second, now) >= burst_ ? buckets_.erase(b) : std::next(b);
  if (buckets_.size() >= max_clients_)
    buckets_.clear(); // all busy at once: forgetting them only grants a fresh burst
}

} // namespace clusterio

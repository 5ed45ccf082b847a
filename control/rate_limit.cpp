#include "control/rate_limit.hpp"

#include <algorithm>

namespace clusterio {

bool rate_limit::admit(const std::string& client) {
  if (rate_ <= 0)
    return true;
  auto now = time_.mono_ms();
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_)
      evict(now);
    it = buckets_.emplace(client, bucket{rate_, now}).first;
  }
  auto& b = it->second;
  b.tokens = std::min(rate_, b.tokens + static_cast<double>(now - b.at_ms) * rate_ / 1000.0);
  b.at_ms = now;
  if (b.tokens < 1.0)
    return false;
  b.tokens -= 1.0;
  return true;
}

void rate_limit::evict(std::uint64_t now) {
  for (auto b = buckets_.begin(); b != buckets_.end();)
    b = now - b->second.at_ms >= idle_ms ? buckets_.erase(b) : std::next(b);
  if (buckets_.size() >= max_clients_)
    buckets_.clear(); // all busy at once: forgetting them only grants a fresh burst
}

} // namespace clusterio

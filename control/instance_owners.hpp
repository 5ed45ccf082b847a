#pragma once
// Which slave runs which instance: the registry's published view, read by the gateway's socket
// thread to check that a slave only acts for its own instances. The registry is its only writer.

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace clusterio {

class instance_owners {
public:
  void set(std::uint64_t instance_id, std::string slave) {
    std::unique_lock lock(mu_);
    owners_[instance_id] = std::move(slave);
  }
  void erase(std::uint64_t instance_id) {
    std::unique_lock lock(mu_);
    owners_.erase(instance_id);
  }
  std::optional<std::string> owner(std::uint64_t instance_id) const {
    std::shared_lock lock(mu_);
    auto it = owners_.find(instance_id);
    if (it == owners_.end())
      return std::nullopt;
    return it->second;
  }

private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::uint64_t, std::string> owners_;
};

} // namespace clusterio

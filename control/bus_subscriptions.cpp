#include "control/bus_subscriptions.hpp"

#include "messages/message.hpp"

namespace clusterio {

result<void> bus_subscriptions::note(const std::string& client, std::string_view message) {
  if (message.empty() || client.empty() || shut_out(client))
    return done(); // what a shut-out client sent before its connection closed is moot
  auto topic = message.substr(1);
  if (message[0] == 0) {
    if (auto it = counts_.find(client); it != counts_.end() && it->second > 0)
      --it->second;
    return done();
  }
  auto broken = [&]() -> result<void> {
    if (message[0] != 1)
      return failure("not a subscription message");
    if (auto allowed = wire::check_subscription(topic); !allowed)
      return allowed.error().in("subscription");
    if (++counts_[client] > max_per_client_)
      return failure("more than " + std::to_string(max_per_client_) + " subscriptions");
    return done();
  }();
  if (!broken) {
    if (banned_.size() >= max_banned)
      banned_.clear();
    banned_[client] = time_.mono_ms() + ban_ms;
    counts_.erase(client);
  }
  return broken;
}

bool bus_subscriptions::shut_out(const std::string& client) {
  auto it = banned_.find(client);
  if (it == banned_.end())
    return false;
  if (time_.mono_ms() < it->second)
    return true;
  banned_.erase(it);
  return false;
}

} // namespace clusterio

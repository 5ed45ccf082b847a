#pragma once
// Per-client rate limits on the master's control socket: a token bucket per client name,
// refilled at the configured rate and holding at most one second's worth, so that one flooding
// client cannot starve the others. A message over the limit gets `overloaded`.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"

namespace clusterio {

class rate_limit {
public:
  /// Buckets kept before idle ones are forgotten: the names of insecure clients are chosen by
  /// the clients, so the table must not grow with them.
  static constexpr std::size_t default_max_clients = 4096;
  /// A bucket untouched this long is full again: forgetting it changes nothing.
  static constexpr std::uint64_t idle_ms = 1000;

  /// `per_second` messages a second per client; 0: no limit.
  /// `time`: the gateway's clock (it must outlive the limits).
  rate_limit(std::uint32_t per_second, const clock& time, std::size_t max_clients = default_max_clients)
    : rate_(per_second), time_(time), max_clients_(max_clients) {}

  /// Takes a token from the client's bucket. False: the client is over its limit.
  bool admit(const std::string& client);

  /// Buckets held now.
  std::size_t clients() const { return buckets_.size(); }

private:
  struct bucket {
    double tokens = 0;
    std::uint64_t at_ms = 0;
  };
  /// Makes room for one more bucket: forgets the idle ones, or all if none is idle.
  void evict(std::uint64_t now);

  double rate_;
  const clock& time_;
  std::size_t max_clients_;
  std::unordered_map<std::string, bucket> buckets_;
};

} // namespace clusterio

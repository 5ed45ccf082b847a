#pragma once
// Per-client token buckets on the master's control socket, so that one client cannot starve the
// others: a bucket per client name, refilled at a rate and holding at most a burst. The gateway
// keeps two: messages a second (a message over it gets `overloaded`), and the bytes of query
// replies, charged when a reply goes out (a query while the client is in debt gets `overloaded`).

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"

namespace clusterio {

class rate_limit {
public:
  /// Buckets kept before full ones are forgotten: the names of insecure clients are chosen by
  /// the clients, so the table must not grow with them.
  static constexpr std::size_t default_max_clients = 4096;

  /// `per_second` tokens a second per client (0: no limit), holding at most `burst` (0: one
  /// second's worth). `time`: the gateway's clock (it must outlive the limits).
  rate_limit(double per_second, const clock& time, double burst = 0, std::size_t max_clients = default_max_clients)
    : rate_(per_second), burst_(burst > 0 ? burst : per_second), time_(time), max_clients_(max_clients) {}

  /// Takes a token from the client's bucket. False: the client is over its limit.
  bool admit(const std::string& client);
  /// Whether the client's bucket holds anything (a charge may have taken it below zero).
  bool in_credit(const std::string& client);
  /// Takes `amount` tokens, below zero if need be, but to at most one burst below zero: the
  /// debt is paid back at the rate.
  void charge(const std::string& client, double amount);

  /// Buckets held now.
  std::size_t clients() const { return buckets_.size(); }

private:
  struct bucket {
    double tokens = 0;
    std::uint64_t at_ms = 0;
  };
  /// The client's bucket, refilled up to now (a new one is full).
  bucket& refilled(const std::string& client);
  /// What `b` holds at `now`: its tokens refilled at the rate since it was last touched.
  double level(const bucket& b, std::uint64_t now) const;
  /// Makes room for one more bucket: forgets the full ones (forgetting them changes nothing),
  /// or all if none is full.
  void evict(std::uint64_t now);

  double rate_;
  double burst_;
  const clock& time_;
  std::size_t max_clients_;
  std::unordered_map<std::string, bucket> buckets_;
};

} // namespace clusterio

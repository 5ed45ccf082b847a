#pragma once
// What the master's bus (an XPUB socket) accepts from its subscribers. ZeroMQ keeps every
// subscription in a prefix tree, at some 30 to 60 bytes of the master's memory per byte of
// topic, with no cap of its own: a client subscribing to thousands of long made-up topics
// would grow the master without bound. So the bus takes only prefixes of the topics the master
// publishes (docs/protocol.md §1.2), at most `max_per_client` subscriptions from one client
// until the bus next closes its connections; ZeroMQ drops by itself a connection that sends a
// message over 1 KiB, and holds at most 100 unread subscriptions of one. A client that breaks a rule is shut out of the
// bus for `ban_ms`: the gateway refuses its key there and closes the bus's connections (the
// others reconnect by themselves), which frees what its subscriptions held.
//
// Used by the gateway's socket thread only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace clusterio {

class bus_subscriptions {
public:
  /// A slave subscribes to a handful of topics, again on each reconnection; this is far above.
  static constexpr std::size_t default_max_per_client = 1024;
  static constexpr std::uint64_t ban_ms = 60'000;
  /// Clients shut out at once; more are let in again early (the table must not grow).
  static constexpr std::size_t max_banned = 4096;

  /// `time`: the gateway's clock (it must outlive this).
  explicit bus_subscriptions(const clock& time, std::size_t max_per_client = default_max_per_client)
    : time_(time), max_per_client_(max_per_client) {}

  /// A subscription message (a byte, 1 to subscribe or 0 to unsubscribe, then the topic prefix)
  /// from `client`: its key, or in insecure mode its address; empty when ZeroMQ itself sends it
  /// (the last subscriber of a topic left). A failure says which rule the client broke: it is
  /// shut out from now on, and the caller must close the bus's connections.
  result<void> note(const std::string& client, std::string_view message);

  /// Whether `client` is shut out of the bus now.
  bool shut_out(const std::string& client);

  /// The bus closed its connections: every subscriber subscribes again from nothing.
  void reopened() { counts_.clear(); }

private:
  const clock& time_;
  std::size_t max_per_client_;
  std::unordered_map<std::string, std::size_t> counts_; ///< client -> subscriptions
  std::unordered_map<std::string, std::uint64_t> banned_; ///< client -> until (mono ms)
};

} // namespace clusterio

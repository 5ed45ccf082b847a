#pragma once
// The one way out of the master: actors queue replies and bus messages here, and the gateway's
// socket thread sends them. A thread-safe queue plus an eventfd that the socket thread polls next
// to its ZeroMQ sockets, so that sockets stay owned by one thread (ZeroMQ's rule). The slave's
// uplink (actors/slave/uplink.cpp) uses one the same way for its socket thread.
//
// Bounded: when `capacity` frames are waiting, new bus messages are dropped (subscribers see a
// gap and catch up from the next full snapshot) and new replies are dropped too (the client's
// request times out and is retried; every request is idempotent). Both are counted.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace clusterio {

class outbox {
public:
  struct item {
    bool publish = false; ///< true: bus message on `address` (topic); false: reply to `address`
    std::string address;  ///< ROUTER routing id, or bus topic
    std::string payload;  ///< encoded frame
  };

  explicit outbox(std::size_t capacity = 200000);
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  /// Queues a reply to the peer with this routing id. Returns false if dropped (full).
  bool reply(std::string routing_id, std::string payload);
  /// Queues a bus message. Returns false if dropped (full).
  bool publish(std::string topic, std::string payload);

  /// Queues many items at once (one lock, one wake-up). Items beyond the capacity are dropped
  /// and counted. Returns how many were queued.
  std::size_t push_all(std::vector<item> items);

  /// File descriptor that becomes readable when items are waiting.
  int wake_fd() const { return fd_; }
  /// Socket thread: takes everything waiting (clears the wake-up).
  void drain(std::vector<item>& out);

  std::uint64_t dropped() const { return dropped_.load(); }

private:
  bool push(item it);

  std::mutex mu_;
  std::vector<item> items_;
  std::size_t capacity_;
  int fd_;
  std::atomic<std::uint64_t> dropped_{0};
};

} // namespace clusterio

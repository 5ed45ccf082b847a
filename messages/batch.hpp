#pragma once
// What is queued for one peer at the same moment leaves in one frame (a batch,
// docs/protocol.md §3.1): a frame costs the receiver (CURVE, a thread hand-over, syscalls) far
// more than a message in it. The gateway batches replies to clients that sent batches; the
// slave's uplink batches requests to a master that reads them.

#include <cstddef>
#include <string_view>
#include <vector>

#include "messages/limits.hpp"
#include "messages/message.hpp"

namespace clusterio::wire {

/// Gathers encoded messages (each a frame as encode() makes it) for one peer. The views must
/// stay valid until they are sent.
class batcher {
public:
  /// A batch holds at most max_batch_messages messages and `max_bytes` bytes of them.
  explicit batcher(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  /// Adds a message; if it would not fit, the batch so far goes to `send` first.
  template <class Send> void add(std::string_view message, Send&& send) {
    if (messages_.size() == max_batch_messages || (!messages_.empty() && bytes_ + message.size() > max_bytes_))
      flush(send);
    messages_.push_back(message);
    bytes_ += message.size();
  }

  /// Sends what was gathered: one message as it is, several as a batch frame.
  template <class Send> void flush(Send&& send) {
    if (messages_.size() == 1)
      send(messages_[0]);
    else if (!messages_.empty())
      send(std::string_view(batch_of(messages_)));
    messages_.clear();
    bytes_ = 0;
  }

private:
  std::size_t max_bytes_;
  std::vector<std::string_view> messages_;
  std::size_t bytes_ = 0;
};

} // namespace clusterio::wire

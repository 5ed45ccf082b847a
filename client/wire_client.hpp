#pragma once
// A blocking client of the master's control socket: a DEALER, with CURVE when given a
// credential. For tools, tests and benchmarks; one thread per client (ZeroMQ's rule). Several
// requests may be in flight: send() them, then recv() replies, matched by id.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "common/credentials.hpp"
#include "messages/message.hpp"

namespace zmq {
class context_t;
class socket_t;
} // namespace zmq

namespace clusterio {

/// Makes `s` a CURVE client of the master with `cred`'s keys (nothing without a credential: a
/// plain connection). For every socket a tool opens to the master, before it connects.
void apply_curve(zmq::socket_t& s, const std::optional<credential>& cred);

class wire_client {
public:
  /// `endpoint` e.g. "tcp://127.0.0.1:7100". Without a credential the connection is plain
  /// (only a master run with --insecure accepts it).
  wire_client(const std::string& endpoint, const std::optional<credential>& cred);
  ~wire_client();

  /// Sends a request with a fresh id; returns the id.
  std::uint64_t send(wire::message m);
  /// Sends raw bytes as one frame (tests of hostile input).
  void send_raw(const std::string& bytes);
  /// Waits for the next reply (the next message of a batch frame, if one came). nullopt on
  /// timeout. Undecodable replies come back as an error frame (code invalid) so that the caller
  /// sees them.
  std::optional<wire::frame> recv(std::chrono::milliseconds timeout);
  /// Waits for the next frame and returns its bytes (one message or a batch). nullopt on timeout.
  std::optional<std::string> recv_raw(std::chrono::milliseconds timeout);
  /// send() then recv() until the reply with that id arrives (others are dropped).
  std::optional<wire::frame> call(wire::message m, std::chrono::milliseconds timeout = std::chrono::seconds(5));

private:
  std::unique_ptr<zmq::context_t> ctx_;
  std::unique_ptr<zmq::socket_t> sock_;
  std::uint64_t next_id_ = 1;
  std::deque<wire::frame> unread_; ///< the rest of a batch frame
};

/// A subscriber to the master's bus.
class bus_subscriber {
public:
  bus_subscriber(const std::string& endpoint, const std::optional<credential>& cred, const std::string& topic_prefix);
  ~bus_subscriber();
  /// Subscribes to one more topic prefix.
  void subscribe(const std::string& topic_prefix);
  /// Next (topic, frame); nullopt on timeout.
  std::optional<std::pair<std::string, wire::frame>> recv(std::chrono::milliseconds timeout);

private:
  std::unique_ptr<zmq::context_t> ctx_;
  std::unique_ptr<zmq::socket_t> sock_;
};

} // namespace clusterio

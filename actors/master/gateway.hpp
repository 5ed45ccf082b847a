#pragma once
// The gateway owns the master's ZeroMQ sockets and runs them on one dedicated thread:
//   - ROUTER (control, default port 7100): requests from slaves and tools, replies to them;
//   - XPUB (bus, default port 7101): topics `inventory`, `signal/<channel>`, `event/...`;
//     a new `inventory` subscriber triggers a full snapshot (Clone pattern: snapshot, then deltas),
//     a new `signal/...` subscriber a republish of the current signal frames (signal_bus.hpp);
//     signal frames go to the signal bus actor, which orders, stores and publishes them;
//   - the ZAP handler, which asks control/authentication.hpp whether a CURVE key may connect;
//   - the outbox's wake-up fd: replies and bus messages queued by the actors.
// It decodes every frame strictly, identifies its sender (control/authentication.hpp), holds
// it to its rate limit (control/rate_limit.hpp), asks control/routing.hpp where each message
// goes (the sender's rights, the instance it must own) and sends jobs, gathered per poll sweep,
// to the storage, registry and signal bus actors; instance commands go to the commands actor. Bad frames get a typed error reply and
// change nothing.
//
//   stopped --start()--> running --stop()--> stopped

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "actors/master/commands.hpp"
#include "actors/master/registry.hpp"
#include "actors/master/signal_bus.hpp"
#include "actors/master/storage.hpp"
#include "common/clock.hpp"
#include "common/credentials.hpp"
#include "common/result.hpp"

namespace clusterio {

class outbox;
class instance_owners;
struct metrics;

struct gateway_config {
  std::string control_endpoint = "tcp://*:7100";
  std::string bus_endpoint = "tcp://*:7101";
  bool insecure = false;         ///< no CURVE: anyone may connect, with every right (local demo)
  key_pair master_keys;          ///< CURVE server keys (unused when insecure)
  std::string db_path;           ///< where the allow-list lives
  std::uint32_t heartbeat_ms = 5000;
  metrics* counters = nullptr;   ///< message and error counters for /metrics; may be null
  const clock* time = &machine_clock(); ///< rate limits, the allow-list's re-reading, the welcome's time
  /// Per-client rate limit (token bucket per client name, refilled at this rate, holding at most
  /// one second's worth): a frame over the limit gets `overloaded` and is not processed, so one
  /// flooding client cannot starve the others. 0: no limit.
  std::uint32_t max_msgs_per_s_per_client = 20000;
  /// Commit pacing: while messages trickle in (the last frame came less than this long before),
  /// the first message of a sweep waits up to this long for others before the jobs go to the
  /// actors, so that they share one hand-over of each kind, one transaction and the wake-ups of
  /// every thread on the way. A lone message, or a sweep that already holds gather_enough jobs
  /// (gateway.cpp), goes at once. 0: off.
  std::uint32_t gather_us = 1000;
};

struct gateway_peers {
  storage_actor storage;
  registry_actor registry;
  signal_bus_actor signal_bus;
  commands_actor commands;
};

class gateway {
public:
  gateway(gateway_config cfg, outbox& out, instance_owners& owners, gateway_peers peers);
  ~gateway();

  /// Binds the sockets and starts the thread.
  result<void> start();
  /// Stops the thread and closes the sockets.
  void stop();

  /// The ports actually bound (useful when the config asked for port 0).
  int control_port() const { return control_port_; }
  int bus_port() const { return bus_port_; }

private:
  struct impl;
  void run();

  std::unique_ptr<impl> impl_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int control_port_ = 0, bus_port_ = 0;
};

} // namespace clusterio

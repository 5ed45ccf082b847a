#pragma once
// The uplink actor is the slave's link to the master: a DEALER for requests (CURVE when a
// credential is given) and a SUB for the bus, both on one socket thread of its own.
//
// Messages it takes:
//   (call_atom, wire::message, std::uint64_t tag)  from an instance: send it; the reply comes
//       back to that instance as (answer_atom, tag, wire::message). Every call gets exactly one
//       answer: the master's reply, or an `error` with code "unavailable" on timeout or when the
//       master cannot be reached (nothing is queued for a dead master: the instance retries from
//       its own durable state, the mod's), or "overloaded" when too many calls are in flight.
//   (join_atom)  the sender gets every bus message, as (bus_atom, topic, wire::frame), and
//       (link_up_atom) whenever the master answers again after a silence.
//
//   down --first reply--> up --a call times out--> down

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "common/credentials.hpp"

namespace clusterio {

struct uplink_config {
  std::string control_endpoint; ///< e.g. tcp://master:7100
  std::string bus_endpoint;     ///< e.g. tcp://master:7101
  std::optional<credential> cred;
  std::string name; ///< hello name (insecure mode identity)
  std::chrono::milliseconds call_timeout{5000};
};

class uplink_sockets;

/// Spawns the uplink actor and its socket thread. The returned holder stops the thread when
/// destroyed (after the actor system's actors are done).
caf::actor spawn_uplink(caf::actor_system& sys, const uplink_config& cfg, std::shared_ptr<uplink_sockets>& holder);

} // namespace clusterio

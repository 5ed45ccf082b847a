#pragma once
// The uplink actor is the slave's link to the master: a DEALER for requests (CURVE when a
// credential is given) and a SUB for the bus, both on one socket thread of its own.
//
// Every call gets exactly one answer: the master's reply, or an `error` with code `unavailable`
// on timeout or when the master cannot be reached (nothing is queued for a dead master: the
// caller retries from its own durable state, the mod's), or `overloaded` when too many calls are
// in flight. Members (the bridges) get every `inventory` message, the signal frames of the
// channels they receive, and word whenever the master answers again after a silence. The
// master's instance commands, which arrive on the same DEALER, go to the command handler. The bus is
// subscribed to `inventory` and to `signal/<channel>` for the union of the members' channels
// only: a frame on a channel no world of this slave receives never leaves the master for it.
//
//   down --first reply--> up --a call times out--> down

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/slave/atoms.hpp"
#include "common/clock.hpp"
#include "common/credentials.hpp"

namespace clusterio {

/// What the uplink's members take: (bus_atom, topic, frame) for every bus message, and
/// (link_up_atom) whenever the master answers again after a silence (it may have restarted).
using uplink_listener = caf::typed_actor<caf::reacts_to<bus_atom, std::string, wire::frame>, caf::reacts_to<link_up_atom>>;

/// The signal channels a member's world receives on.
struct channel_interest {
  bool every = false;             ///< every channel (a mod too old to tell its receivers' channels)
  std::set<std::string> channels; ///< else these

  bool wants(const std::string& channel) const { return every || channels.count(channel) > 0; }
  bool operator==(const channel_interest& o) const { return every == o.every && channels == o.channels; }
  bool operator!=(const channel_interest& o) const { return !(*this == o); }
};

/// Who applies the master's instance commands: the manager of `clusterio-slave run`. It answers
/// every command with a result (a failure is a result with an error code).
using command_handler = caf::typed_actor<caf::replies_to<command_atom, wire::instance_command>::with<wire::command_result>>;

using uplink_actor = caf::typed_actor<
  /// A call to the master, answered exactly once (see above).
  caf::replies_to<call_atom, wire::message>::with<wire::message>,
  /// The listener becomes a member until it ends, receiving no signal channel yet.
  caf::reacts_to<join_atom, uplink_listener>,
  /// The channels a member receives from now on.
  caf::reacts_to<channels_atom, uplink_listener, channel_interest>,
  /// The master's instance commands go to this handler from now on; their results go back to
  /// the master. Without one, a command is refused (`unsupported`).
  caf::reacts_to<serve_atom, command_handler>>;

struct uplink_config {
  std::string control_endpoint; ///< e.g. tcp://master:7100
  std::string bus_endpoint;     ///< e.g. tcp://master:7101
  std::optional<credential> cred;
  std::string name; ///< hello name (insecure mode identity)
  std::chrono::milliseconds call_timeout{5000};
  const clock* time = &machine_clock(); ///< call deadlines and the time the link has been down
};

/// A caller waits this long for the uplink's answer at most: the uplink answers every call
/// within its call_timeout, so this only ends a wait on an uplink that is gone.
constexpr auto uplink_answer_timeout = std::chrono::seconds(60);

class uplink_sockets;

/// Spawns the uplink actor and its socket thread. The returned holder stops the thread when
/// destroyed (after the actor system's actors are done).
uplink_actor spawn_uplink(caf::actor_system& sys, const uplink_config& cfg, std::shared_ptr<uplink_sockets>& holder);

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::channel_interest)

#pragma once
// The bridge actor links one world's mod to the master: the transfer and signal side of an
// instance (its game process is the supervisor's). It talks to the mod only through the RCON
// link the supervisor hands it while the game is ready, and to the master only through the
// uplink. It keeps no transfer state of its own: the mod's save and the master's database hold
// it all, so a slave killed at any moment loses nothing (docs/transfers.md).

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/slave/atoms.hpp"
#include "common/clock.hpp"
#include "actors/slave/rcon_link.hpp"
#include "actors/slave/uplink.hpp"

namespace clusterio {

/// What the bridge knows of its game, for the instance's status.json.
struct instance_report {
  std::uint64_t instance_id = 0; ///< at the master; 0 until registered
  std::uint64_t tick = 0;
  double ups = 0; ///< game ticks over wall time, smoothed
  std::uint32_t players = 0;
};
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, instance_report& x) {
  return f(caf::meta::type_name("instance_report"), x.instance_id, x.tick, x.ups, x.players);
}

/// Who takes the bridge's reports: the supervisor.
using report_sink = caf::typed_actor<caf::reacts_to<report_atom, instance_report>>;

using bridge_actor = caf::typed_actor<
  /// The game is ready and its mod answers on this link: sync, then serve.
  caf::reacts_to<game_ready_atom, rcon_link_actor>,
  /// The RCON link broke while the game runs on: no mod calls until the next game_ready.
  caf::reacts_to<rcon_lost_atom>,
  /// The game process ended: its next run starts from its save, and what was in flight for
  /// this run is dropped.
  caf::reacts_to<game_stopped_atom>,
  /// An IPC message of the mod: channel and JSON text (game/ipc.hpp).
  caf::reacts_to<ipc_atom, std::string, std::string>,
  /// From the uplink (uplink_listener).
  caf::reacts_to<bus_atom, std::string, wire::frame>, caf::reacts_to<link_up_atom>>;

struct bridge_params {
  std::string instance_name;
  std::string game_address;  ///< "host:port" players join, registered at the master
  std::string identity;      ///< this slave's name at the master: its own signal frames come back from "<identity>/<instance_name>"
  std::uint32_t heartbeat_ms = 5000;     ///< how often UPS, tick and players go to the master
  std::uint32_t sync_interval_ms = 5000; ///< how often unacknowledged work is re-sent
};

/// Spawns a bridge; it joins the uplink at once and waits for game_ready.
bridge_actor spawn_bridge(caf::actor_system& sys, bridge_params params, const clock* time, uplink_actor uplink, report_sink reports);

} // namespace clusterio

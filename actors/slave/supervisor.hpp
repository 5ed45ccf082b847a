#pragma once
// The instance actor runs one Factorio instance and links it to the master:
//   - launches the server as the real one is launched (DESIGN §6), reads its stdout (readiness,
//     failures, IPC lines), restarts it after a crash with backoff, and stops it with /quit,
//     then SIGTERM, then SIGKILL;
//   - talks to the mod over RCON (JSON inside an escaped Lua string literal);
//   - runs the exactly-once protocol (DESIGN §5): exports forwarded and acknowledged to the mod
//     only after the master made them durable; grants delivered, confirmed, then forgotten;
//     and after any restart or reconnect a sync: register (batch floor to the mod), resync
//     (deliver unconfirmed grants, cancel reclaimed ones), resend unacknowledged exports. The
//     slave itself keeps no transfer state: the mod's save and the master's database hold it
//     all, so a slave killed at any moment loses nothing;
//   - asks for what the mod reports missing, never twice for one need: after a request whose
//     answer was lost (the master may have granted it) it asks again only once a resync has
//     delivered what the master holds for the instance;
//   - reports UPS (game ticks over wall time), tick and players to the master.
//
//   stopped --start--> starting --RCON ready--> running --stop--> stopping --exit--> stopped
//                         ^                        |crash
//                         +------- backoff --------+

#include <string>

#include <caf/fwd.hpp>

#include "game/instance_dir.hpp"

namespace clusterio {

struct instance_params {
  std::string public_address;       ///< what players connect to (the slave's public_address)
  std::uint32_t heartbeat_ms = 5000; ///< how often UPS, tick and players go to the master
  std::uint32_t sync_interval_ms = 5000; ///< how often unacknowledged work is re-sent
  instance_config inst;
  std::string dir;          ///< absolute path of the instance folder
  std::string factorio_bin; ///< the server binary
  std::string identity;     ///< this slave's name at the master (credential name)
  bool exit_when_stopped = false; ///< `start NAME`: the actor quits once the game stopped
};

/// Spawns the actor; it starts the game at once. (stop_atom) stops the game and ends the actor;
/// a `stop-request` file in the instance folder stops the game only.
caf::actor spawn_instance(caf::actor_system& sys, instance_params params, caf::actor uplink);

} // namespace clusterio

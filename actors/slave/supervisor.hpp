#pragma once
// The supervisor actor runs one Factorio instance's game process: it launches the server with
// the real server's command line (docs/factorio-sim.md lists it), reads its stdout (readiness, failures, IPC lines),
// connects RCON (again when the connection drops), restarts the game after a crash with
// backoff, stops it with /quit, then SIGTERM, then SIGKILL, waits for a server a dead slave
// left saving, and keeps the instance's status.json. It spawns the instance's bridge
// (actors/slave/bridge.hpp), tells it when the game is ready or stopped, and hands it the mod's
// IPC messages.

#include <string>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/slave/bridge.hpp"
#include "common/clock.hpp"
#include "actors/slave/uplink.hpp"
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

using supervisor_actor = caf::typed_actor<
  /// Stops the game; the supervisor (and its bridge) end once it stopped. A `stop-request`
  /// file in the instance folder stops the game only.
  caf::reacts_to<stop_atom>,
  /// From its bridge (report_sink): what goes into status.json.
  caf::reacts_to<report_atom, instance_report>,
  /// A console line for the running game, over RCON: its reply, or why it could not be sent.
  caf::replies_to<console_atom, std::string>::with<rcon::reply>,
  /// The game's output (IPC lines aside), kept for the last console_lines_kept lines: those
  /// numbered above `after`, at most `count` (the latest `count` when `after` is 0).
  caf::replies_to<console_log_atom, std::uint64_t, std::uint64_t>::with<std::vector<wire::console_line>>>;

/// Lines of a game's output a supervisor keeps for `log` (across restarts of the game).
inline constexpr std::size_t console_lines_kept = 1000;

/// Spawns the supervisor; it starts the game at once.
supervisor_actor spawn_supervisor(caf::actor_system& sys, instance_params params, const clock* time, uplink_actor uplink);

} // namespace clusterio

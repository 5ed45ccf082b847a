#pragma once
// The manager actor owns the set of instances this slave process runs: one supervisor per
// running instance, and the claim on its folder (game/instance_dir.hpp) while it runs.
// (stop_atom) asks every supervisor to stop its game; those still running after the shutdown
// wait are ended.
//
// `clusterio-slave start NAME` gives it fixed instances: it quits once every supervisor ended.
// `clusterio-slave run` also gives it the host (host_control): it then applies the master's
// instance commands (create, start, stop, restart, delete, list, console command; see
// messages/command.hpp), each at most once (game/command_journal.hpp), reports the host's
// instances to the master every report interval and after each change, and runs on with no
// instance until it is stopped. Creating a map runs the game binary to completion: the manager
// runs detached, so that this blocks nothing but the commands behind it.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/slave/supervisor.hpp"
#include "actors/slave/uplink.hpp"
#include "common/files.hpp"

namespace clusterio {

using manager_actor = command_handler::extend<caf::reacts_to<stop_atom>>;

/// An instance ready to start: how to run it, and the claim on its folder, held while it runs.
struct prepared_instance {
  instance_params params;
  std::shared_ptr<file_claim> claim;
};

/// What the manager needs to apply the master's commands.
struct host_control {
  host_layout layout;
  std::string slave_name;   ///< this slave's name at the master
  std::string journal_path; ///< the command journal (game/command_journal.hpp)
  std::chrono::milliseconds report_interval{5000};
  /// Claims an instance, checks and installs its mod, and says how to run it (slave/main.cpp).
  std::function<result<prepared_instance>(const std::string& name)> prepare;
};

struct manager_params {
  std::vector<prepared_instance> instances; ///< started at once
  std::chrono::milliseconds shutdown_wait;  ///< after (stop_atom), before the rest are ended
  std::optional<host_control> host;         ///< set: take the master's commands
};

/// Spawns the manager. With a host, a journal that cannot be read is a failure (applying a
/// command twice is worse than not starting).
result<manager_actor> spawn_manager(caf::actor_system& sys, manager_params params, uplink_actor uplink);

} // namespace clusterio

#pragma once
// The manager actor owns the set of instances this slave runs (DESIGN §3): it spawns one
// instance actor per instance and marks each instance folder as supervised by this process
// (supervisor.pid, which `clusterio-slave stop` and `list` read). (stop_atom) asks every
// instance to stop; those still running after the shutdown wait are ended. The manager quits
// once every instance actor has ended, and removes the supervisor.pid files then.

#include <chrono>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/instance.hpp"

namespace clusterio {

struct manager_params {
  std::vector<instance_params> instances;
  std::chrono::milliseconds shutdown_wait; ///< after (stop_atom), before the rest are ended
};

caf::actor spawn_manager(caf::actor_system& sys, manager_params params, caf::actor uplink);

} // namespace clusterio

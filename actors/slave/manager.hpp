#pragma once
// The manager actor owns the set of instances this slave runs (DESIGN §3): it spawns one
// instance actor per instance (the slave has claimed each instance's folder before: see
// game/instance_dir.hpp). (stop_atom) asks every instance to stop; those still running after
// the shutdown wait are ended. The manager quits once every instance actor has ended.

#include <chrono>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/slave/instance.hpp"

namespace clusterio {

struct manager_params {
  std::vector<instance_params> instances;
  std::chrono::milliseconds shutdown_wait; ///< after (stop_atom), before the rest are ended
};

caf::actor spawn_manager(caf::actor_system& sys, manager_params params, caf::actor uplink);

} // namespace clusterio

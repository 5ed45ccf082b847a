#pragma once
// The manager actor owns the set of instances this slave runs: it spawns one supervisor per
// instance (the slave has claimed each instance's folder before: see game/instance_dir.hpp).
// (stop_atom) asks every supervisor to stop its game; those still running after the shutdown
// wait are ended. The manager quits once every supervisor has ended.

#include <chrono>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/slave/supervisor.hpp"
#include "actors/slave/uplink.hpp"

namespace clusterio {

using manager_actor = caf::typed_actor<caf::reacts_to<stop_atom>>;

struct manager_params {
  std::vector<instance_params> instances;
  std::chrono::milliseconds shutdown_wait; ///< after (stop_atom), before the rest are ended
};

manager_actor spawn_manager(caf::actor_system& sys, manager_params params, uplink_actor uplink);

} // namespace clusterio

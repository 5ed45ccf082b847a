#pragma once
// The demand actor decides how much of each request to grant. It keeps one allocator per item
// and quality (demand/demand_policy.hpp: fair, first-come or dole) and a mirror of the stock
// levels, which the storage actor sends after every commit. It never moves items itself: it
// sends storage a plan and storage reserves min(plan, stock), so a stale mirror can never make
// it over-grant.
// Runs on the scheduler (it never blocks).

#include <cstdint>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/master/jobs.hpp"
#include "actors/master/levels_listener.hpp"
#include "actors/master/storage.hpp"
#include "common/clock.hpp"
#include "demand/demand_policy.hpp"

namespace clusterio {

using request_atom = caf::atom_constant<caf::atom("cl_request")>;

using demand_actor = caf::typed_actor<
  /// From the gateway: one sweep's requests; their plans go to storage as one reserve_jobs.
  caf::reacts_to<request_atom, request_jobs>,
  /// From storage (levels_listener): levels that changed, or all of them.
  caf::reacts_to<levels_atom, wire::item_list>,
  /// From the registry: forget a deleted instance's demand history.
  caf::reacts_to<drop_instance_atom, std::uint64_t>>;

struct demand_config {
  demand::policy_kind policy = demand::policy_kind::fair;
  demand::policy_config policy_config;
  const clock* time = &machine_clock(); ///< the policies' demand windows
};

/// Spawns the actor; it subscribes to the storage's levels at once.
demand_actor spawn_demand(caf::actor_system& sys, const demand_config& cfg, storage_actor storage);

} // namespace clusterio

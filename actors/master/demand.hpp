#pragma once
// The demand actor decides how much of each request to grant. It keeps one allocator per item
// (demand_policy.hpp: fair, first-come or dole) and a mirror of the stock levels, which the
// storage actor sends after every commit. It never moves items itself: it sends storage a plan
// and storage reserves min(plan, stock), so a stale mirror can never make it over-grant.
//
// Messages it takes:
//   (request_atom, request_jobs)    from the gateway
//   (levels_atom, item_list)        from storage: levels that changed (or all, at start)
//   (drop_instance_atom, id)        forget an instance's demand history

#include <caf/fwd.hpp>

#include "demand/demand_policy.hpp"

namespace clusterio {

caf::actor spawn_demand(caf::actor_system& sys, demand::policy_kind policy, demand::policy_config config, caf::actor storage);

} // namespace clusterio

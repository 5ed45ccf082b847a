#pragma once
// The registry actor owns the slaves and instances: identity (an instance keeps its id for ever,
// per (slave, name)), liveness by heartbeat, UPS, tick, players and game address. Every change
// of an instance is published on the bus as `event/instance` (an instance_info).
//
// Messages it takes (see jobs.hpp):
//   (register_atom, register_job)              assign/lookup the id; storage replies registered
//   (heartbeat_atom, route, wire::heartbeat)   update; reply ok
//   (seen_atom, std::string slave)             any traffic from a slave
//   (query_atom, query_job)                    slaves_query
//   (drop_instance_atom, route, id)            delete_instance: forget it; storage returns its
//                                              reservations and replies
//   (tick_atom)                                liveness sweep (self, every second)

#include <cstdint>
#include <string>

#include <caf/actor.hpp>

#include "common/result.hpp"

namespace clusterio {

class outbox;
class instance_owners;

struct registry_config {
  std::string db_path;
  std::uint64_t instance_timeout_ms = 15000; ///< offline after this much silence
};

result<caf::actor> spawn_registry(caf::actor_system& sys, const registry_config& cfg, outbox& out, instance_owners& owners,
                                  caf::actor storage, caf::actor demand);

} // namespace clusterio

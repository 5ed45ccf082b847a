#pragma once
// The registry actor owns the slaves and instances: identity (an instance keeps its id for ever,
// per (slave, name)), liveness by heartbeat, UPS, tick, players and game address. Every change
// of an instance is published on the bus as `event/instance` (an instance_info); clients'
// replies go through the outbox. It asks the storage what only the storage knows (the batch an
// instance sends next; returning a deleted instance's reservations) and replies when it answers.
//
// Runs detached in the master (its own thread): it writes master.db.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/master/jobs.hpp"
#include "actors/master/storage.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace clusterio {

class outbox;
class instance_owners;

struct web_slave {
  std::string name;
  bool online = false;         ///< traffic within the instance timeout
  std::uint64_t silent_ms = 0; ///< since its last traffic (0 if never heard since start)
};

struct web_instance {
  wire::instance_info info;
  std::vector<std::pair<std::uint64_t, double>> recent_ups; ///< (epoch ms, UPS), last heartbeats
};

/// One page of both lists: the slaves (by name) and the instances (by id) at positions
/// offset..offset+limit-1 of each, so that a page stays bounded however large the cluster is.
struct web_instances_view {
  std::vector<web_slave> slaves;
  std::vector<web_instance> instances;
  bool more = false; ///< either list goes on past this page
};

struct web_ups_point {
  std::uint64_t minute = 0;
  std::uint64_t instance_id = 0;
  double ups = 0; ///< mean of the heartbeats in that minute
};
using web_ups_series = std::vector<web_ups_point>;

using register_atom = caf::atom_constant<caf::atom("cl_regist")>;
using heartbeat_atom = caf::atom_constant<caf::atom("cl_hbeat")>;
using seen_atom = caf::atom_constant<caf::atom("cl_seen")>;
using web_instances_atom = caf::atom_constant<caf::atom("web_insts")>;
using web_ups_atom = caf::atom_constant<caf::atom("web_ups")>;

using registry_actor = caf::typed_actor<
  /// From the gateway: assign or look up the id; reply registered (with storage's next batch).
  caf::reacts_to<register_atom, register_job>,
  /// From the gateway: update the instance; reply ok.
  caf::reacts_to<heartbeat_atom, route, wire::heartbeat>,
  /// From the gateway: any traffic from this slave (at most once a second per slave).
  caf::reacts_to<seen_atom, std::string>,
  /// From the gateway: slaves_query; reply slaves_reply.
  caf::reacts_to<query_atom, query_job>,
  /// From the gateway: delete_instance; forget it, have storage return its reservations; reply ok.
  caf::reacts_to<drop_instance_atom, route, std::uint64_t>,
  /// To itself, every second: instances silent for the timeout go offline; UPS minutes written.
  caf::reacts_to<tick_atom>,
  /// From the web server: a page of the slaves and instances now (offset, limit).
  caf::replies_to<web_instances_atom, std::uint64_t, std::uint64_t>::with<web_instances_view>,
  /// From the web server: UPS history of one instance (0: all) over the last minutes.
  caf::replies_to<web_ups_atom, std::uint64_t, std::uint64_t>::with<web_ups_series>>;

struct registry_config {
  std::string db_path;
  std::uint64_t instance_timeout_ms = 15000; ///< offline after this much silence
  std::uint64_t max_instances_per_slave = 200; ///< a slave registering one more gets `overloaded`
  const clock* time = &machine_clock();     ///< liveness, last_seen_ms, UPS minutes
  bool own_thread = true;                   ///< detached; false: on the scheduler (deterministic tests)
};

struct registry_peers {
  storage_actor storage;
};

/// Opens master.db, loads the known instances and spawns the actor.
result<registry_actor> spawn_registry(caf::actor_system& sys, const registry_config& cfg, outbox& out, instance_owners& owners,
                                      registry_peers peers);

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::heartbeat)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_instances_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_ups_series)

#pragma once
// What the master's actors send each other: atoms and job structs. A job carries the route of
// the request it serves (peer + request id) so that the actor that finishes it can reply through
// the outbox. Included only by the master's actor and wiring sources, never by messages/.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "actors/master/signal_bus.hpp"
#include "messages/message.hpp"

namespace clusterio {

/// Where a reply goes: the ROUTER routing id of the peer and the request's id.
struct route {
  std::string peer;
  std::uint64_t id = 0;
};

struct export_job {
  route to;
  wire::export_batch msg;
};
struct request_job {
  route to;
  wire::request_items msg;
};
/// From demand to storage: reserve up to these amounts (storage clamps to stock) and reply.
struct reserve_job {
  route to;
  std::uint64_t instance_id = 0;
  wire::item_list plan;
};
struct confirm_job {
  route to;
  wire::confirm_grants msg;
};
struct register_job {
  route to;
  std::string slave;
  wire::register_instance msg;
};
struct query_job {
  route to;
  wire::message msg; ///< slaves_query, inventory_query, stats_query, resync, reclaim, ...
};

using export_jobs = std::vector<export_job>;
using request_jobs = std::vector<request_job>;
using reserve_jobs = std::vector<reserve_job>;
using confirm_jobs = std::vector<confirm_job>;
/// Signal frames accepted by the gateway in one sweep, in arrival order, `source` set.
using signal_frames = std::vector<wire::signal_frame>;

// Atom texts are project-unique (atoms with the same text are the same type).
using export_atom = caf::atom_constant<caf::atom("cl_export")>;
using request_atom = caf::atom_constant<caf::atom("cl_request")>;
using reserve_atom = caf::atom_constant<caf::atom("cl_reserve")>;
using confirm_atom = caf::atom_constant<caf::atom("cl_confirm")>;
using query_atom = caf::atom_constant<caf::atom("cl_query")>;
using register_atom = caf::atom_constant<caf::atom("cl_regist")>;
using next_batch_atom = caf::atom_constant<caf::atom("cl_nextbat")>;
using heartbeat_atom = caf::atom_constant<caf::atom("cl_hbeat")>;
using seen_atom = caf::atom_constant<caf::atom("cl_seen")>;
using drop_instance_atom = caf::atom_constant<caf::atom("cl_dropins")>;
using levels_atom = caf::atom_constant<caf::atom("cl_levels")>;
using commit_atom = caf::atom_constant<caf::atom("cl_commit")>;
using tick_atom = caf::atom_constant<caf::atom("cl_tick")>;
using snapshot_atom = caf::atom_constant<caf::atom("cl_snap")>;
using recover_atom = caf::atom_constant<caf::atom("cl_recover")>;
using publish_full_atom = caf::atom_constant<caf::atom("cl_pubfull")>;
using subscribe_levels_atom = caf::atom_constant<caf::atom("cl_sublev")>;
// The signal bus (signal_bus.hpp).
using signal_atom = caf::atom_constant<caf::atom("cl_signal")>;
using sig_snap_atom = caf::atom_constant<caf::atom("cl_sigsnap")>;
using sig_flush_atom = caf::atom_constant<caf::atom("cl_sigflsh")>;
using sig_stats_atom = caf::atom_constant<caf::atom("cl_sigstat")>;

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::route)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::export_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::request_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::reserve_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::confirm_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::register_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::query_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::item_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::heartbeat)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::registered)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::signal_frames)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::signal_bus_stats)

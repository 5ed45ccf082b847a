#pragma once
// What the HTTP server asks the storage and registry actors, and what they answer: read-only
// views for the web page, the JSON API and /metrics (see docs/webui.md). Kept apart from
// jobs.hpp so that the protocol's jobs and the web's questions evolve separately. Included only
// by actor and wiring sources (it pulls in CAF).
//
// Storage:
//   (web_storage_atom, uint64 rate_minutes)  -> web_storage_view
//   (web_stats_atom, web_stats_query)        -> web_series
// Registry:
//   (web_instances_atom)                      -> web_instances_view
//   (web_ups_atom, uint64 instance, uint64 minutes) -> web_ups_series

#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "messages/message.hpp"

namespace clusterio {

/// One item or fluid in storage.
struct web_item {
  std::string name;
  std::int64_t count = 0;    ///< units in storage now
  std::int64_t exported = 0; ///< units put in over the rate window
  std::int64_t imported = 0; ///< units taken out (granted, net of cancellations) over the window
};

struct web_storage_view {
  std::vector<web_item> items;       ///< sorted by name
  std::uint64_t rate_minutes = 0;    ///< the window `exported`/`imported` cover (whole minutes)
  std::uint64_t reservations = 0;    ///< outstanding grants
  std::int64_t reserved_units = 0;   ///< units held by outstanding grants
  bool failed = false;               ///< a commit failed: requests are refused until a reload (every 10 s)
  std::string failure;               ///< why
};

struct web_stats_query {
  std::string item;             ///< "" = every item
  std::uint64_t instance_id = 0; ///< 0 = every instance (still broken down per instance)
  std::uint64_t minutes = 60;   ///< how far back
};

/// One bucket of transfers of one instance.
struct web_point {
  std::uint64_t minute = 0;      ///< Unix minute the bucket starts at
  std::uint64_t instance_id = 0;
  std::int64_t exported = 0, imported = 0;
};

struct web_series {
  std::uint64_t bucket_minutes = 1; ///< 1 for the last 48 h, 60 beyond
  std::vector<web_point> points;    ///< oldest first
  std::string error;                ///< non-empty: the query failed
};

struct web_slave {
  std::string name;
  bool online = false;          ///< traffic within the instance timeout
  std::uint64_t silent_ms = 0;  ///< since its last traffic (0 if never heard since start)
};

struct web_instance {
  wire::instance_info info;
  std::vector<std::pair<std::uint64_t, double>> recent_ups; ///< (epoch ms, UPS), last heartbeats
};

struct web_instances_view {
  std::vector<web_slave> slaves;
  std::vector<web_instance> instances;
};

struct web_ups_point {
  std::uint64_t minute = 0;
  std::uint64_t instance_id = 0;
  double ups = 0; ///< mean of the heartbeats in that minute
};
using web_ups_series = std::vector<web_ups_point>;

// Atom texts are project-unique (atoms with the same text are the same type).
using web_storage_atom = caf::atom_constant<caf::atom("web_store")>;
using web_stats_atom = caf::atom_constant<caf::atom("web_stats")>;
using web_instances_atom = caf::atom_constant<caf::atom("web_insts")>;
using web_ups_atom = caf::atom_constant<caf::atom("web_ups")>;
using web_compact_atom = caf::atom_constant<caf::atom("web_compac")>;

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_storage_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_stats_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_series)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_instances_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_ups_series)

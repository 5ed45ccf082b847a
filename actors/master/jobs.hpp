#pragma once
// What several of the master's actors exchange: the jobs the gateway hands over, the atoms more
// than one interface uses, and how a wire error travels as a CAF error. Each actor's own
// messages, and the protocol itself, are its typed interface in its header (storage.hpp,
// registry.hpp, signal_bus.hpp). A job carries the route of the request it serves
// (peer + request id) so that the actor that finishes it can reply through the outbox. Included
// only by the master's actor and wiring sources and tests, never by messages/.
//
// The types here are never serialized (the actors share one process), hence
// CAF_ALLOW_UNSAFE_MESSAGE_TYPE rather than inspect().

#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>

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
struct confirm_job {
  route to;
  wire::confirm_grants msg;
};
struct register_job {
  route to;
  std::string slave;
  wire::register_instance msg;
};
/// A signal frame, `source` already set from the sender's identity.
struct signal_job {
  route to;
  wire::signal_frame msg;
};
struct query_job {
  route to;
  wire::message msg; ///< slaves_query, inventory_query, stats_query, resync, reclaim_grant
};

using export_jobs = std::vector<export_job>;
using request_jobs = std::vector<request_job>;
using confirm_jobs = std::vector<confirm_job>;
using signal_jobs = std::vector<signal_job>;

// Atoms of more than one interface. Atom texts are project-unique (atoms with the same text are
// the same type).
using query_atom = caf::atom_constant<caf::atom("cl_query")>;
using drop_instance_atom = caf::atom_constant<caf::atom("cl_dropins")>;
/// A periodic sweep an actor sends itself.
using tick_atom = caf::atom_constant<caf::atom("cl_tick")>;

} // namespace clusterio

// An actor refuses a question with the error the client gets: caf::error{wire::error_code, why}.
CAF_ERROR_CODE_ENUM(clusterio::wire::error_code, "wire")

namespace clusterio {

/// The wire error an answer between actors failed with, as the client should get it: the
/// answering actor's own (category "wire"), or `unavailable` naming `who` when it did not
/// answer (timeout, stopped).
inline wire::error_reply error_reply_of(const caf::error& e, const char* who) {
  if (e.category() == caf::atom("wire")) {
    auto& context = e.context();
    auto why = context.match_elements<std::string>() ? context.get_as<std::string>(0) : std::string();
    return wire::make_error(static_cast<wire::error_code>(e.code()), std::move(why));
  }
  return wire::make_error(wire::error_code::unavailable, std::string(who) + " did not answer: " + caf::to_string(e));
}

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::route)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::export_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::request_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::confirm_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::signal_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::register_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::query_job)

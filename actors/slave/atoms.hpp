#pragma once
// What the slave's actors send each other. Included only by the slave's actor sources.

#include <cstdint>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "messages/message.hpp"
#include "rcon/client.hpp"

namespace clusterio {

// Atom texts are project-unique (atoms with the same text are the same type).
using call_atom = caf::atom_constant<caf::atom("sl_call")>;       ///< instance -> uplink: a request
using answer_atom = caf::atom_constant<caf::atom("sl_answer")>;   ///< uplink -> instance: its reply
using frame_in_atom = caf::atom_constant<caf::atom("sl_framein")>; ///< socket thread -> uplink
using bus_atom = caf::atom_constant<caf::atom("sl_bus")>;         ///< a bus message
using join_atom = caf::atom_constant<caf::atom("sl_join")>;       ///< instance -> uplink: send me bus messages
using link_up_atom = caf::atom_constant<caf::atom("sl_linkup")>;  ///< uplink -> instances: master answers again
using sweep_atom = caf::atom_constant<caf::atom("sl_sweep")>;
using line_atom = caf::atom_constant<caf::atom("sl_line")>;       ///< a line of the game's output
using exited_atom = caf::atom_constant<caf::atom("sl_exited")>;   ///< the game process ended
using rcon_up_atom = caf::atom_constant<caf::atom("sl_rconup")>;  ///< RCON connected (or why not)
using rcon_reply_atom = caf::atom_constant<caf::atom("sl_rconrep")>;
using start_atom = caf::atom_constant<caf::atom("sl_start")>;
using stop_atom = caf::atom_constant<caf::atom("sl_stop")>;
using timer_atom = caf::atom_constant<caf::atom("sl_timer")>;
using rcon_retry_atom = caf::atom_constant<caf::atom("sl_rconrt")>;

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::rcon::reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::result<void>)

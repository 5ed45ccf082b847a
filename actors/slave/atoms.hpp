#pragma once
// The atoms of the slave's actors, and the local-only types their messages carry. Included by
// the slave's actor interface headers (each actor's protocol is its typed interface there).

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "common/result.hpp"
#include "messages/message.hpp"
#include "rcon/client.hpp"

namespace clusterio {

// Atom texts are project-unique (atoms with the same text are the same type): "sl_" is the slave's.
using call_atom = caf::atom_constant<caf::atom("sl_call")>;          ///< bridge -> uplink: a call to the master
using join_atom = caf::atom_constant<caf::atom("sl_join")>;          ///< bridge -> uplink: send me bus messages
using bus_atom = caf::atom_constant<caf::atom("sl_bus")>;            ///< a bus message
using channels_atom = caf::atom_constant<caf::atom("sl_chans")>;     ///< bridge -> uplink: the channels my world receives
using link_up_atom = caf::atom_constant<caf::atom("sl_linkup")>;     ///< uplink -> bridges: the master answers again
using frame_in_atom = caf::atom_constant<caf::atom("sl_framein")>;   ///< the uplink's socket thread -> uplink
using sweep_atom = caf::atom_constant<caf::atom("sl_sweep")>;        ///< the uplink's timer
using start_atom = caf::atom_constant<caf::atom("sl_start")>;        ///< supervisor: launch the game
using stop_atom = caf::atom_constant<caf::atom("sl_stop")>;          ///< manager, supervisor: stop
using timer_atom = caf::atom_constant<caf::atom("sl_timer")>;        ///< an actor's own periodic timer
using line_atom = caf::atom_constant<caf::atom("sl_line")>;          ///< a line of the game's output
using exited_atom = caf::atom_constant<caf::atom("sl_exited")>;      ///< the game process ended
using rcon_retry_atom = caf::atom_constant<caf::atom("sl_rconrt")>;  ///< supervisor: connect RCON again
using rcon_connect_atom = caf::atom_constant<caf::atom("sl_rconcon")>; ///< -> RCON link: connect
using rcon_call_atom = caf::atom_constant<caf::atom("sl_rconcal")>;  ///< -> RCON link: a command
using rcon_reply_atom = caf::atom_constant<caf::atom("sl_rconrep")>; ///< the RCON reader thread -> RCON link
using game_ready_atom = caf::atom_constant<caf::atom("sl_ready")>;   ///< supervisor -> bridge
using rcon_lost_atom = caf::atom_constant<caf::atom("sl_rconlst")>;  ///< supervisor -> bridge
using game_stopped_atom = caf::atom_constant<caf::atom("sl_gamestp")>; ///< supervisor -> bridge
using ipc_atom = caf::atom_constant<caf::atom("sl_ipc")>;            ///< supervisor -> bridge: an IPC message
using report_atom = caf::atom_constant<caf::atom("sl_report")>;      ///< bridge -> supervisor: tick, UPS, players
using serve_atom = caf::atom_constant<caf::atom("sl_serve")>;        ///< manager -> uplink: I apply the master's commands
using command_atom = caf::atom_constant<caf::atom("sl_cmd")>;        ///< uplink -> manager: a command from the master
using console_atom = caf::atom_constant<caf::atom("sl_console")>;    ///< manager -> supervisor: a console line over RCON
using console_log_atom = caf::atom_constant<caf::atom("sl_conlog")>; ///< manager -> supervisor: the game's latest output lines
using host_tick_atom = caf::atom_constant<caf::atom("sl_hosttk")>;   ///< manager: report the host's instances
using finished_atom = caf::atom_constant<caf::atom("sl_fin")>;       ///< manager: a command's blocking part is done

} // namespace clusterio

// Local-only message types: they never leave the process, so they need no serialisation.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::instance_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::command_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<clusterio::wire::console_line>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::rcon::reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::result<void>)

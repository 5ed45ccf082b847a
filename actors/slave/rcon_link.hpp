#pragma once
// The RCON link actor owns the RCON client of one game run: it connects (blocking, in its own
// thread: the actor is detached) and serves commands, many in flight at once. It ends when an
// established connection drops: whoever monitors it connects a new one. Its commands then fail
// at once ("disconnected: ..."), as do those still waiting when it is told to exit.

#include <chrono>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/slave/atoms.hpp"

namespace clusterio {

using rcon_link_actor = caf::typed_actor<
  /// Connects and authenticates (again: a previous connection is dropped first).
  caf::replies_to<rcon_connect_atom>::with<result<void>>,
  /// Runs a command; the reply is the game's answer, or why there is none (rcon/client.hpp).
  caf::replies_to<rcon_call_atom, std::string>::with<rcon::reply>>;

/// A caller waits this long for a command's answer at most: the link answers within the
/// client's request_timeout (a game busy saving answers late), so this only ends a wait on a link
/// that is gone.
constexpr auto rcon_answer_timeout = std::chrono::seconds(45);
/// ... and this long for a connect (two steps of the client's connect_timeout each).
constexpr auto rcon_connect_answer_timeout = std::chrono::seconds(20);

rcon_link_actor spawn_rcon_link(caf::actor_system& sys, rcon::client_options options);

} // namespace clusterio

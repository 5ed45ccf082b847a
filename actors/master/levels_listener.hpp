#pragma once
// Who hears of the storage's committed levels: the storage actor sends every level that a commit
// changed (and all of them when one subscribes, and after a recovery) to one listener, the
// demand actor, whose interface includes this one. A header of its own so that storage.hpp need
// not include demand.hpp, which includes storage.hpp (demand sends its reservations there).

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/master/jobs.hpp"

namespace clusterio {

using levels_atom = caf::atom_constant<caf::atom("cl_levels")>;

using levels_listener = caf::typed_actor<
  /// Levels now (0: gone), of the names that changed.
  caf::reacts_to<levels_atom, wire::item_list>>;

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::item_list)

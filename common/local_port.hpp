#pragma once
// A port for a local listener chosen now and bound later by another process (a game's RCON
// port, a test's master).

#include "common/result.hpp"

namespace clusterio {

/// A port free on 127.0.0.1 for both TCP and UDP a moment ago, chosen at random below the
/// kernel's ephemeral range, and never the same twice in one process. Below that range no
/// outgoing connection can take the port before its listener binds it; a port the kernel picked
/// (bind to port 0) could be, by any process's next connection. `scripts/free-port` picks the
/// same way for the shell scripts.
result<int> free_local_port();

} // namespace clusterio

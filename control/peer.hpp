#pragma once
// Who sent a frame to the master's control socket, and what they may do: authentication finds
// the peer (control/authentication.hpp), routing checks its rights (control/routing.hpp).

#include <cstdint>
#include <string>

#include "common/credentials.hpp"

namespace clusterio {

/// What a peer may send, as bits (docs/protocol.md §2 has the table by role).
namespace rights {
inline constexpr std::uint8_t query = 1;         ///< hello and the queries: every client
inline constexpr std::uint8_t publish = 2;       ///< signal frames
inline constexpr std::uint8_t run_instances = 4; ///< register, heartbeat, transfers: for its own instances
inline constexpr std::uint8_t administer = 8;    ///< reclaim; delete any instance
inline constexpr std::uint8_t all = query | publish | run_instances | administer;
} // namespace rights

struct peer {
  std::string name;                       ///< empty: an unknown or revoked client, refused
  clusterio::role role = role::subscriber; ///< what its welcome says
  std::uint8_t rights = 0;                ///< of rights::

  bool may(std::uint8_t any_of) const { return (rights & any_of) != 0; }
};

/// The rights of a role (docs/protocol.md §2).
inline std::uint8_t rights_of(role r) {
  switch (r) {
    case role::slave: return rights::query | rights::publish | rights::run_instances;
    case role::publisher: return rights::query | rights::publish;
    case role::admin: return rights::query | rights::publish | rights::administer;
    case role::subscriber: break;
  }
  return rights::query;
}

} // namespace clusterio

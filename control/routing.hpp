#pragma once
// Where a decoded message goes, or why it is refused: who may send it (by the peer's rights),
// whether the sender must run the instance it acts for, and which actor serves it. One table in
// routing.cpp holds a rule for every message type (the compiler refuses a type without one);
// docs/protocol.md §2 has it as a table by role. Pure logic: no sockets, no actors.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "control/peer.hpp"
#include "messages/message.hpp"

namespace clusterio {

/// Who serves a message.
enum class destination {
  welcome,           ///< hello: the gateway answers it itself
  register_instance, ///< the registry
  heartbeat,         ///< the registry
  drop_instance,     ///< the registry (delete_instance)
  registry_query,    ///< the registry (slaves_query)
  storage_query,     ///< the storage (inventory and stats queries, resync, reclaim)
  exports,           ///< the storage, gathered per sweep
  requests,          ///< the storage (its demand policy), gathered per sweep
  confirms,          ///< the storage, gathered per sweep
  signals,           ///< the signal bus, gathered per sweep
  host_report,       ///< the commands actor: a slave that takes commands
  command,           ///< the commands actor: an admin's instance_command, relayed to its slave
  command_result,    ///< the commands actor: a slave's answer to a relayed command (not answered)
  refused,           ///< nobody: the refusal is the reply
};

/// Where a message goes; when refused, the error to reply with.
struct routing_decision {
  destination to = destination::refused;
  wire::error refusal;
  /// Its reply can be as large as a frame (slaves, inventory, statistics): the gateway charges
  /// it to the client's budget of reply bytes and lets only a few wait at once.
  bool large_reply = false;
};

class router {
public:
  /// The slave that runs an instance, if the instance is known (instance_owners::owner).
  using owner_lookup = std::function<std::optional<std::string>(std::uint64_t instance_id)>;

  explicit router(owner_lookup owner_of) : owner_of_(std::move(owner_of)) {}

  /// Where `m`, from `who`, goes. Refused with `unauthorized` when who's rights do not cover
  /// it or the instance it acts for is another slave's, `not_found` when that instance is not
  /// registered, `unsupported` for a message the master does not serve (a reply type), `invalid`
  /// for a signal frame with a `source` or `seq` beyond what a client may send (limits.hpp).
  routing_decision route(const peer& who, const wire::message& m) const;

private:
  /// Whether `who` runs instance `id`: the one ownership check.
  bool owns(const peer& who, std::uint64_t id, routing_decision& out) const;

  owner_lookup owner_of_;
};

} // namespace clusterio

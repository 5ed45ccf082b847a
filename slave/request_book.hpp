#pragma once
// What an instance still asks the master for, and whether it may ask now: the rules that keep a
// world from being granted the same need twice (docs/transfers.md). Plain bookkeeping, without
// actors or sockets, so that each rule is tested on its own (tests/slave/request_book_test.cpp).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "messages/transfer.hpp"

namespace clusterio {

class request_book {
public:
  /// The mod's report of what it misses. `applied` is its count of applied grants when it made
  /// the report. A report made before a grant the slave has seen applied is stale (it arrived
  /// on stdout after the grant's RCON reply): it is ignored and false returned.
  bool reported(const wire::item_list& missing, std::uint64_t applied);
  /// The mod's count of applied grants after an apply_grants call.
  void mod_applied(std::uint64_t applied);
  /// Granted (a request's reply, or a resync's pending grants): no longer to ask for.
  void granted(const std::vector<wire::grant>& grants);

  /// A request came back without a grant, or its reply can no longer come: the master may hold
  /// a grant the slave does not know of.
  void doubt() { ++doubts_; }
  /// The doubts a resync covers: take it when sending the resync.
  std::uint64_t doubts() const { return doubts_; }
  /// A resync sent when doubts() was `doubts` has been delivered to the mod.
  void settled(std::uint64_t doubts);
  /// No request while the master may hold grants the mod was not given.
  bool may_ask() const { return settled_ == doubts_; }

  /// The game (re)started from its save: its applied count starts from what the save holds, and
  /// a request in flight when it stopped is in doubt.
  void game_started();

  /// What is still wanted of the names in `levels` that have stock (new stock: ask at once).
  wire::item_list wanted_in_stock(const wire::item_list& levels) const;

private:
  std::map<std::string, std::int64_t> wanted_; ///< last report, less what was granted since
  std::uint64_t applied_seen_ = 0;
  std::uint64_t doubts_ = 1, settled_ = 0; ///< a new slave doubts until its first resync
};

} // namespace clusterio

#pragma once
// What an instance still asks the master for, and whether it may ask now: the rules that keep a
// world from being granted the same need twice (docs/transfers.md). Plain bookkeeping, without
// actors or sockets, so that each rule is tested on its own (tests/slave/request_book_test.cpp).

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "messages/transfer.hpp"

namespace clusterio {

class request_book {
public:
  /// The mod's report of what it misses, made when its count of applied grants was `applied`.
  /// The report comes on stdout, a grant's answer over RCON, and the two race: what grants gave
  /// after the report was made (the slave saw their answers first), or are on their way to the
  /// mod, is taken off it. Returns how many applied grants the report predates (0: none).
  std::uint64_t reported(const wire::item_list& missing, std::uint64_t applied);
  /// Granted (a request's reply, or a resync's pending grants) and on its way to the mod: no
  /// longer to ask for.
  void granted(const std::vector<wire::grant>& grants);
  /// The mod answered apply_grants for `sent`: it took those in `taken` (applied now, or
  /// before if duplicates) and its count of applied grants is now `applied`.
  void mod_answered(const std::vector<wire::grant>& sent, const std::vector<std::uint64_t>& taken, std::uint64_t applied);
  /// These grants were reclaimed by an operator and the mod answered their cancellation: none of
  /// them is on its way any longer (one whose apply call failed would be, forever, otherwise).
  void reclaimed(const std::vector<std::uint64_t>& ids);

  /// A request came back without a grant, or its reply can no longer come: the master may hold
  /// a grant the slave does not know of.
  void doubt() { ++doubts_; }
  /// The doubts a resync covers: take it when sending the resync.
  std::uint64_t doubts() const { return doubts_; }
  /// A resync sent when doubts() was `doubts` has been delivered to the mod.
  void settled(std::uint64_t doubts);
  /// No request while the master may hold grants the mod was not given.
  bool may_ask() const { return settled_ == doubts_; }

  /// The game (re)started from its save: its applied count starts from what the save holds,
  /// grants on their way are lost with the old process, and a request in flight is in doubt.
  void game_started();

  /// What the world still misses: the last report, less what was granted since.
  wire::item_list wanted() const;
  /// What is still wanted of the names in `levels` that have stock (new stock: ask at once).
  wire::item_list wanted_in_stock(const wire::item_list& levels) const;

private:
  /// Takes a grant's count off what its item is still wanted.
  void take_off(const wire::grant& g);

  /// What one apply_grants call gave, dated by the mod's applied count after it.
  struct applied_call {
    std::uint64_t applied = 0;
    std::vector<wire::grant> grants;
  };
  /// Kept for reports that come late; a report made after a call makes it history. Bounded,
  /// for a world that stops reporting (it misses nothing) while resyncs still deliver.
  static constexpr std::size_t max_calls_kept = 256;

  std::map<std::string, std::int64_t> wanted_;  ///< by wire::item_key: last report, less what was granted since
  std::map<std::uint64_t, wire::grant> to_mod_; ///< granted, not yet answered by the mod
  std::deque<applied_call> calls_;              ///< answered, newer than the last report
  std::uint64_t doubts_ = 1, settled_ = 0;      ///< a new slave doubts until its first resync
};

} // namespace clusterio

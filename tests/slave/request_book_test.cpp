// The slave's rules for asking the master (game/request_book): never the same need twice.

#include <catch2/catch.hpp>

#include "game/request_book.hpp"

using namespace clusterio;

namespace {
wire::item_list plates(std::int64_t n) { return {{"iron-plate", n}}; }
std::vector<wire::grant> grant_of(std::uint64_t id, std::int64_t n) { return {{id, "iron-plate", n}}; }
} // namespace

TEST_CASE("a new slave asks nothing before its first resync was delivered") {
  request_book book;
  CHECK_FALSE(book.may_ask());
  auto doubts = book.doubts(); // the resync goes out
  book.settled(doubts);        // ... and what it brought reached the mod
  CHECK(book.may_ask());
}

TEST_CASE("a request without a grant is in doubt until a resync sent after it was delivered") {
  request_book book;
  book.settled(book.doubts());
  auto before = book.doubts(); // a resync sent before the doubt arose...
  book.doubt();                // ... a request times out ...
  CHECK_FALSE(book.may_ask());
  book.settled(before); // ... that resync's answer cannot have seen the lost grant
  CHECK_FALSE(book.may_ask());
  book.settled(book.doubts());
  CHECK(book.may_ask());
  book.settled(before); // a late answer to an older resync changes nothing
  CHECK(book.may_ask());
}

TEST_CASE("what was granted since the report is no longer asked for") {
  request_book book;
  CHECK(book.reported(plates(100), 0) == 0);
  CHECK(book.wanted_in_stock(plates(5000)) == plates(100));
  book.granted(grant_of(1, 60));
  CHECK(book.wanted_in_stock(plates(5000)) == plates(40));
  book.granted(grant_of(2, 40));
  CHECK(book.wanted_in_stock(plates(5000)).empty());
  // Only names with stock; nothing for a name nobody reported.
  book.mod_answered(grant_of(1, 60), {1}, 1);
  book.mod_answered(grant_of(2, 40), {2}, 2);
  book.reported(plates(10), 2);
  CHECK(book.wanted() == plates(10));
  CHECK(book.wanted_in_stock({{"iron-plate", 0}, {"water", 10}}).empty());
}

TEST_CASE("a report made before grants the slave saw applied has what they gave taken off") {
  request_book book;
  book.reported(plates(100), 3);
  book.granted(grant_of(7, 60));
  book.mod_answered(grant_of(7, 60), {7}, 4); // the grant's RCON answer: the mod has applied 4
  // The cycle's report, made before the grant but read after its answer: late, not wrong.
  CHECK(book.reported(plates(100), 3) == 1);
  CHECK(book.wanted() == plates(40));
  book.granted(grant_of(8, 40));
  book.mod_answered(grant_of(8, 40), {8}, 5);
  CHECK(book.reported(plates(100), 3) == 2);
  CHECK(book.wanted().empty());
  // Made after the first of them: only the second is taken off; after both: taken as it is.
  CHECK(book.reported(plates(70), 4) == 1);
  CHECK(book.wanted() == plates(30));
  CHECK(book.reported(plates(20), 5) == 0);
  CHECK(book.wanted() == plates(20));
  // A report older than one already read finds nothing left to date it by: calls the newer
  // report covered are gone, and reports come in the order they were made.
}

TEST_CASE("grants on their way to the mod are taken off every report until the mod answers") {
  request_book book;
  book.granted(grant_of(9, 30));
  book.granted(grant_of(9, 30)); // a resync delivering it again: on its way once
  CHECK(book.reported(plates(100), 0) == 0);
  CHECK(book.wanted() == plates(70));
  book.mod_answered(grant_of(9, 30), {}, 0); // not taken (cancelled, or rejected)
  book.reported(plates(100), 0);
  CHECK(book.wanted() == plates(100));
  // One whose apply call failed, then reclaimed by an operator: no longer on its way.
  book.granted(grant_of(10, 20));
  book.reported(plates(100), 0);
  CHECK(book.wanted() == plates(80));
  book.reclaimed({10});
  book.reported(plates(100), 0);
  CHECK(book.wanted() == plates(100));
}

TEST_CASE("a game restarted from its save starts the count again, and doubts") {
  request_book book;
  book.settled(book.doubts());
  book.granted(grant_of(3, 25));
  book.mod_answered(grant_of(3, 25), {3}, 50);
  book.granted(grant_of(4, 5)); // lost with the old game process
  book.game_started();
  CHECK_FALSE(book.may_ask());
  CHECK(book.reported(plates(10), 12) == 0); // the save's count is lower: nothing to take off
  CHECK(book.wanted() == plates(10));
}

TEST_CASE("each quality of an item is asked for, granted and taken off on its own") {
  request_book book;
  book.reported({{"iron-plate", 100}, {"iron-plate", 10, "rare"}}, 0);
  CHECK(book.wanted() == wire::item_list{{"iron-plate", 100}, {"iron-plate", 10, "rare"}});
  // A rare grant takes nothing off the normal plates, and the other way round.
  book.granted({{1, "iron-plate", 4, "rare"}});
  CHECK(book.wanted() == wire::item_list{{"iron-plate", 100}, {"iron-plate", 6, "rare"}});
  book.granted({{2, "iron-plate", 100}});
  CHECK(book.wanted() == wire::item_list{{"iron-plate", 6, "rare"}});
  // New stock of normal plates is not new stock of rare ones.
  CHECK(book.wanted_in_stock({{"iron-plate", 50}}).empty());
  CHECK(book.wanted_in_stock({{"iron-plate", 50}, {"iron-plate", 1, "rare"}}) == wire::item_list{{"iron-plate", 6, "rare"}});
}

// The slave's rules for asking the master (slave/request_book): never the same need twice.

#include <catch2/catch.hpp>

#include "slave/request_book.hpp"

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
  REQUIRE(book.reported(plates(100), 0));
  CHECK(book.wanted_in_stock(plates(5000)) == plates(100));
  book.granted(grant_of(1, 60));
  CHECK(book.wanted_in_stock(plates(5000)) == plates(40));
  book.granted(grant_of(2, 40));
  CHECK(book.wanted_in_stock(plates(5000)).empty());
  // Only names with stock; nothing for a name nobody reported.
  REQUIRE(book.reported(plates(10), 0));
  CHECK(book.wanted_in_stock({{"iron-plate", 0}, {"water", 10}}).empty());
}

TEST_CASE("a report made before a grant the slave saw applied is ignored") {
  request_book book;
  REQUIRE(book.reported(plates(100), 3));
  book.granted(grant_of(7, 100));
  book.mod_applied(4); // the grant's RCON reply: the mod has applied 4 grants
  // The cycle's report, printed before the grant but read after its reply: stale.
  CHECK_FALSE(book.reported(plates(100), 3));
  CHECK(book.wanted_in_stock(plates(5000)).empty());
  // Made after it: taken.
  CHECK(book.reported(plates(20), 4));
  CHECK(book.wanted_in_stock(plates(5000)) == plates(20));
}

TEST_CASE("a game restarted from its save starts the count again, and doubts") {
  request_book book;
  book.settled(book.doubts());
  book.mod_applied(50);
  book.game_started();
  CHECK_FALSE(book.may_ask());
  CHECK(book.reported(plates(10), 12)); // the save's count is lower: not stale
}

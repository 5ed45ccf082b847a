#include "messages/inventory_parts.hpp"

#include <catch2/catch.hpp>

using namespace clusterio::wire;

namespace {
/// Part `part` of `parts` of a full snapshot taken at `time`: one level, named after the part.
inventory_levels part_of(std::uint64_t time, std::uint64_t part, std::uint64_t parts, bool full = true) {
  return inventory_levels{time, full, {{"item-" + std::to_string(part), static_cast<std::int64_t>(part)}}, part, parts};
}
} // namespace

TEST_CASE("inventory_joiner gives a full snapshot whole, once its last part has arrived", "[inventory]") {
  inventory_joiner j;
  CHECK_FALSE(j.add(part_of(7, 1, 3)));
  CHECK_FALSE(j.add(part_of(7, 2, 3)));
  auto whole = j.add(part_of(7, 3, 3));
  REQUIRE(whole);
  CHECK(whole->full);
  CHECK(whole->time_ms == 7);
  CHECK(whole->levels == item_list{{"item-1", 1}, {"item-2", 2}, {"item-3", 3}});
  CHECK((whole->part == 1 && whole->parts == 1));
  CHECK(j.dropped() == 0);
  // A snapshot of one part is whole at once.
  auto one = j.add(part_of(8, 1, 1));
  REQUIRE(one);
  CHECK(one->levels.size() == 1);
}

TEST_CASE("inventory_joiner passes each part of a change on at once", "[inventory]") {
  inventory_joiner j;
  CHECK_FALSE(j.add(part_of(7, 1, 2)));
  // A change in parts stands alone, part by part, and leaves a snapshot being joined alone.
  auto change = j.add(part_of(9, 2, 5, false));
  REQUIRE(change);
  CHECK(change->levels == item_list{{"item-2", 2}});
  auto whole = j.add(part_of(7, 2, 2));
  REQUIRE(whole);
  CHECK(whole->levels.size() == 2);
}

TEST_CASE("inventory_joiner drops a full snapshot with a part missing, and takes the next", "[inventory]") {
  inventory_joiner j;
  SECTION("a middle part lost") {
    CHECK_FALSE(j.add(part_of(7, 1, 3)));
    CHECK_FALSE(j.add(part_of(7, 3, 3)));
  }
  SECTION("the last part lost: the next snapshot begins") {
    CHECK_FALSE(j.add(part_of(7, 1, 2)));
    CHECK_FALSE(j.add(part_of(8, 1, 2)));
    CHECK_FALSE(j.add(part_of(7, 2, 2))); // the old snapshot's last part, out of place
    CHECK(j.dropped() == 2);
    CHECK_FALSE(j.add(part_of(8, 2, 2))); // the new one was dropped with it: wait for the next
  }
  SECTION("the first part lost") {
    CHECK_FALSE(j.add(part_of(7, 2, 2)));
    CHECK(j.dropped() == 0); // nothing was being joined
  }
  auto next = j.add(part_of(10, 1, 2));
  CHECK_FALSE(next);
  next = j.add(part_of(10, 2, 2));
  REQUIRE(next);
  CHECK(next->levels == item_list{{"item-1", 1}, {"item-2", 2}});
}

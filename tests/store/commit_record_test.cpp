// The commit log's record (store/commit_record.cpp): the bytes msgpack-c wrote before the
// project wrote records itself still decode; encoding gives those bytes again, and the same
// bytes as msgpack-c's packer for any record; a damaged record is an error, never a partly read
// one.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>

#include <msgpack.hpp>

#include "store/commit_record.hpp"

using namespace clusterio;

namespace {

/// Written by the msgpack-c encoder of store/storage_db.cpp at commit 49795bd for
/// golden_changes() below: the format on disk in every master.db written until then.
const std::string golden_bytes(
    "\x97\x95\x92\xaa\x69\x72\x6f\x6e\x2d\x70\x6c\x61\x74\x65\x64\x92"
    "\xa5\x77\x61\x74\x65\x72\x00\x92\xd9\x2d\x61\x6e\x2d\x69\x74\x65"
    "\x6d\x2d\x6e\x61\x6d\x65\x2d\x6c\x6f\x6e\x67\x65\x72\x2d\x74\x68"
    "\x61\x6e\x2d\x33\x31\x2d\x62\x79\x74\x65\x73\x2d\x74\x6f\x2d\x67"
    "\x65\x74\x2d\x73\x74\x72\x38\xcd\x01\x2c\x92\xa3\x62\x69\x67\xcf"
    "\x00\x00\x00\x01\x2a\x05\xf2\x00\x92\xa1\x6e\xce\x00\x01\x11\x70"
    "\x93\x92\x07\x01\x92\x07\xcc\xc8\x92\xcd\xff\xff\xce\x00\x01\x00"
    "\x00\x91\x93\x07\x03\x09\x92\x95\x01\x07\xaa\x69\x72\x6f\x6e\x2d"
    "\x70\x6c\x61\x74\x65\x05\xc2\x95\xcd\x01\x2c\x08\xac\x63\x6f\x70"
    "\x70\x65\x72\x2d\x70\x6c\x61\x74\x65\xcf\x00\x00\x00\xe8\xd4\xa5"
    "\x10\x00\xc3\x92\x02\x03\x91\x09\xcd\x01\x2d",
    171);

storage_changes golden_changes() {
  storage_changes c;
  c.levels = {{"iron-plate", 100}, {"water", 0}, {"an-item-name-longer-than-31-bytes-to-get-str8", 300}, {"big", 5000000000LL}, {"n", 70000}};
  c.batches_added = {{7, 1}, {7, 200}, {65535, 65536}};
  c.states = {{7, 3, 9}};
  c.grants_upserted = {{1, 7, "iron-plate", 5, false}, {300, 8, "copper-plate", 1000000000000LL, true}};
  c.grants_removed = {2, 3};
  c.instances_dropped = {9};
  c.next_grant_id = 301;
  return c;
}

/// The record's encoder as it was, on msgpack-c's packer: the reference for the format.
std::string msgpack_c_record(const storage_changes& c) {
  msgpack::sbuffer out;
  msgpack::packer<msgpack::sbuffer> pk(out);
  pk.pack_array(7);
  pk.pack(c.levels);
  pk.pack(c.batches_added);
  pk.pack_array(static_cast<std::uint32_t>(c.states.size()));
  for (auto& s : c.states)
    pk.pack(std::tie(s.instance_id, s.pruned_below, s.max_batch));
  pk.pack_array(static_cast<std::uint32_t>(c.grants_upserted.size()));
  for (auto& g : c.grants_upserted)
    pk.pack(std::tie(g.grant_id, g.instance_id, g.name, g.count, g.reclaim));
  pk.pack(c.grants_removed);
  pk.pack(c.instances_dropped);
  pk.pack(c.next_grant_id);
  return std::string(out.data(), out.size());
}

void check_equal(const storage_changes& a, const storage_changes& b) {
  CHECK(a.levels == b.levels);
  CHECK(a.batches_added == b.batches_added);
  REQUIRE(a.states.size() == b.states.size());
  for (std::size_t i = 0; i < a.states.size(); ++i) {
    CHECK(a.states[i].instance_id == b.states[i].instance_id);
    CHECK(a.states[i].pruned_below == b.states[i].pruned_below);
    CHECK(a.states[i].max_batch == b.states[i].max_batch);
  }
  REQUIRE(a.grants_upserted.size() == b.grants_upserted.size());
  for (std::size_t i = 0; i < a.grants_upserted.size(); ++i) {
    auto& x = a.grants_upserted[i];
    auto& y = b.grants_upserted[i];
    CHECK(std::tie(x.grant_id, x.instance_id, x.name, x.count, x.reclaim) == std::tie(y.grant_id, y.instance_id, y.name, y.count, y.reclaim));
  }
  CHECK(a.grants_removed == b.grants_removed);
  CHECK(a.instances_dropped == b.instances_dropped);
  CHECK(a.next_grant_id == b.next_grant_id);
}

/// A record of random size and values: integers of every width, names of every string form.
storage_changes random_changes(std::mt19937_64& rng) {
  auto pick = [&rng](std::uint64_t n) { return rng() % n; };
  auto uint = [&] { return rng() >> (pick(8) * 8); };                          // 0 .. 2^64 - 1, every width
  auto sint = [&] { return static_cast<std::int64_t>(rng()) >> (pick(8) * 8); }; // either sign, every width
  auto name = [&] { return std::string(pick(4) == 0 ? 256 + pick(300) : pick(40), static_cast<char>('a' + pick(26))); };
  auto size = [&] { return pick(6) == 0 ? 16 + pick(40) : pick(5); }; // fixarray and array16
  storage_changes c;
  for (auto n = size(); n > 0; --n)
    c.levels.emplace_back(name(), sint());
  for (auto n = size(); n > 0; --n)
    c.batches_added.emplace_back(uint(), uint());
  for (auto n = size(); n > 0; --n)
    c.states.push_back({uint(), uint(), uint()});
  for (auto n = size(); n > 0; --n)
    c.grants_upserted.push_back({uint(), uint(), name(), sint(), pick(2) == 1});
  for (auto n = size(); n > 0; --n)
    c.grants_removed.push_back(uint());
  for (auto n = size(); n > 0; --n)
    c.instances_dropped.push_back(uint());
  c.next_grant_id = uint();
  return c;
}

/// Why decoding `bytes` fails (the test fails if it does not).
std::string why_refused(const std::string& bytes) {
  auto decoded = decode_record(bytes);
  REQUIRE_FALSE(decoded);
  return decoded.error().what();
}

} // namespace

TEST_CASE("a record msgpack-c wrote decodes, and encodes to the same bytes") {
  REQUIRE(msgpack_c_record(golden_changes()) == golden_bytes); // the reference encoder is the old one
  auto decoded = decode_record(golden_bytes);
  INFO(decoded.why());
  REQUIRE(decoded);
  check_equal(*decoded, golden_changes());
  std::string buf;
  CHECK(encode_record(*decoded, buf) == golden_bytes);
}

TEST_CASE("a master.db whose log holds a record msgpack-c wrote loads it") {
  char tmpl[] = "/tmp/clusterio-commit-record-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string file = dir + "/master.db";
  {
    auto db = storage_db::open(file, false);
    REQUIRE(db);
    REQUIRE((*db)->load());
    storage_changes first;
    first.levels = {{"placeholder", 1}};
    REQUIRE((*db)->commit(first)); // record 1
  }
  {
    auto raw = sql::database::open(file, false);
    REQUIRE(raw);
    REQUIRE((*raw)->prepare("UPDATE commit_log SET changes = ?1 WHERE seq = 1").bind_blob(1, golden_bytes).run());
  }
  auto db = storage_db::open(file, false);
  REQUIRE(db);
  auto snap = (*db)->load();
  INFO(snap.why());
  REQUIRE(snap);
  std::filesystem::remove_all(dir);
  // The record replayed: water's 0 deletes its row; batch 1 of instance 7 is below its
  // pruned_below (3); the removed grants 2 and 3 never existed.
  CHECK(snap->counts == std::unordered_map<std::string, std::int64_t>{
                          {"iron-plate", 100}, {"an-item-name-longer-than-31-bytes-to-get-str8", 300}, {"big", 5000000000LL}, {"n", 70000}});
  CHECK(snap->batches.size() == 2);
  REQUIRE(snap->states.size() == 1);
  CHECK(snap->states[0].max_batch == 9);
  CHECK(snap->grants.size() == 2);
  CHECK(snap->next_grant_id == 301);
}

TEST_CASE("an empty record is eight bytes") {
  std::string buf;
  CHECK(encode_record(storage_changes{}, buf) == std::string("\x97\x90\x90\x90\x90\x90\x90\x00", 8));
  auto decoded = decode_record(std::string("\x97\x90\x90\x90\x90\x90\x90\x00", 8));
  REQUIRE(decoded);
  check_equal(*decoded, storage_changes{});
}

TEST_CASE("any record is written as msgpack-c writes it, and read back exactly") {
  std::mt19937_64 rng(20261205);
  std::string buf; // reused, as storage_db does: a shorter record after a longer one
  for (int round = 0; round < 300; ++round) {
    auto c = random_changes(rng);
    auto bytes = std::string(encode_record(c, buf));
    INFO("round " << round);
    REQUIRE(bytes == msgpack_c_record(c));
    auto decoded = decode_record(bytes);
    INFO(decoded.why());
    REQUIRE(decoded);
    check_equal(*decoded, c);
  }
}

TEST_CASE("a list of 65,536 entries or more takes the 32-bit array form") {
  storage_changes c;
  c.grants_removed.assign(70000, 1);
  std::string buf;
  auto bytes = std::string(encode_record(c, buf));
  CHECK(bytes == msgpack_c_record(c));
  auto decoded = decode_record(bytes);
  REQUIRE(decoded);
  CHECK(decoded->grants_removed.size() == 70000);
}

TEST_CASE("a damaged record is an error naming what is wrong") {
  const std::string empty("\x97\x90\x90\x90\x90\x90\x90\x00", 8);
  SECTION("every truncation") {
    for (std::size_t n = 0; n < golden_bytes.size(); ++n)
      CHECK_THAT(why_refused(golden_bytes.substr(0, n)), Catch::StartsWith("not a valid record: "));
  }
  SECTION("trailing bytes") {
    CHECK(why_refused(golden_bytes + '\x00') == "not a valid record: record: trailing bytes");
  }
  SECTION("not an array of seven") {
    CHECK(why_refused("\xc0") == "not a valid record: record: must be an array, not nil");
    CHECK(why_refused(std::string("\x96\x90\x90\x90\x90\x90\x90", 7)) == "not a valid record: record: must have 7 entries, not 6");
    CHECK(why_refused(std::string("\x98\x90\x90\x90\x90\x90\x90\x00\x00", 9)) == "not a valid record: record: must have 7 entries, not 8");
  }
  SECTION("an entry of the wrong type") {
    // levels: a count that is a string; batches: a negative instance; grants: reclaim 1, not true.
    CHECK(why_refused(std::string("\x97\x91\x92\xa1x\xa1y\x90\x90\x90\x90\x90\x00", 13)) ==
          "not a valid record: levels: must be a signed 64-bit integer");
    CHECK(why_refused(std::string("\x97\x90\x91\x92\xff\x01\x90\x90\x90\x90\x00", 11)) ==
          "not a valid record: batches: must be an unsigned integer, not integer");
    CHECK(why_refused(std::string("\x97\x90\x90\x90\x91\x95\x01\x02\xa1x\x03\x01\x90\x90\x00", 15)) ==
          "not a valid record: grants: must be a boolean, not integer");
    CHECK(why_refused(std::string("\x97\x90\x90\x90\x90\x90\x90\xa1x", 9)) == "not a valid record: next_grant_id: must be an unsigned integer, not string");
  }
  SECTION("a count too large for a signed 64-bit integer") {
    CHECK(why_refused(std::string("\x97\x91\x92\xa1x\xcf\x80\x00\x00\x00\x00\x00\x00\x00\x90\x90\x90\x90\x90\x00", 20)) ==
          "not a valid record: levels: must be a signed 64-bit integer");
  }
  SECTION("a list longer than the record could hold") {
    // An array32 header claiming 4 billion entries: refused before anything is reserved.
    CHECK(why_refused(std::string("\x97\xdd\xff\xff\xff\xff\x90\x90\x90\x90\x90\x00", 12)) == "not a valid record: levels: insufficient bytes");
  }
  SECTION("an entry of the wrong size") {
    CHECK(why_refused(std::string("\x97\x90\x91\x93\x01\x02\x03\x90\x90\x90\x90\x00", 12)) == "not a valid record: batches: must have 2 entries, not 3");
  }
  CHECK(decode_record(empty)); // the damage, not the test's bytes, is what is refused
}

// The msgpack reader (messages/msgpack_reader.hpp): every value msgpack-c writes reads back
// with its kind and scalar; truncations, ext and bin values, the unused byte and the parser
// limits of docs/protocol.md §3 are refused with their exact texts.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include <msgpack.hpp>

#include "messages/msgpack_reader.hpp"

using namespace clusterio::wire;

namespace {

template <class T> std::string packed(const T& v) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, v);
  return std::string(buf.data(), buf.size());
}

/// Reads one value's header from `bytes`; its error, or "" (the whole of `bytes` must be read
/// for a scalar).
std::string head(const std::string& bytes, msgpack_value& v) {
  msgpack_reader r(bytes.data(), bytes.data() + bytes.size());
  auto why = r.head(v);
  return why ? why : "";
}

/// skip() of the whole of `bytes` at depth 1: its error, or "".
std::string skip(const std::string& bytes) {
  msgpack_reader r(bytes.data(), bytes.data() + bytes.size());
  auto why = r.skip(1);
  if (!why && r.pos() != r.end())
    return "not all read";
  return why ? why : "";
}

} // namespace

TEST_CASE("integers of every form read back, by sign") {
  for (std::uint64_t u : {0ull, 127ull, 128ull, 65536ull, ~0ull}) {
    msgpack_value v{};
    REQUIRE(head(packed(u), v).empty());
    CHECK(v.k == msgpack_kind::uint);
    CHECK(v.u == u);
  }
  for (std::int64_t i : {std::int64_t{-1}, std::int64_t{-33}, std::int64_t{-129}, std::int64_t{-40000}, std::int64_t{-3000000000LL}}) {
    msgpack_value v{};
    REQUIRE(head(packed(i), v).empty());
    CHECK(v.k == msgpack_kind::sint);
    CHECK(v.i == i);
  }
  msgpack_value v{};
  REQUIRE(head(std::string("\xd0\x05", 2), v).empty()); // a signed form holding a positive number
  CHECK(v.k == msgpack_kind::uint);
  CHECK(v.u == 5);
}

TEST_CASE("strings, reals, booleans, nil, containers") {
  msgpack_value v{};
  std::string s(300, 'q');
  auto bytes = packed(s); // v.text() points into it
  REQUIRE(head(bytes, v).empty());
  CHECK(v.k == msgpack_kind::str);
  CHECK(v.text() == s);
  REQUIRE(head(packed(59.94), v).empty());
  CHECK(v.k == msgpack_kind::real);
  CHECK(v.f == 59.94);
  REQUIRE(head(packed(1.5f), v).empty());
  CHECK(v.k == msgpack_kind::real);
  CHECK(v.f == 1.5);
  REQUIRE(head(packed(true), v).empty());
  CHECK((v.k == msgpack_kind::boolean && v.b));
  REQUIRE(head(std::string("\xc0", 1), v).empty());
  CHECK(v.k == msgpack_kind::nil);
  REQUIRE(head(packed(std::vector<int>(20, 1)), v).empty());
  CHECK((v.k == msgpack_kind::array && v.n == 20));
  CHECK(kind_name(msgpack_kind::sint) == std::string("integer"));
}

TEST_CASE("what the reader refuses, with its exact text") {
  msgpack_value v{};
  CHECK(head("", v) == "insufficient bytes");
  CHECK(head(std::string("\xcd\x01", 2), v) == "insufficient bytes");
  CHECK(head(std::string("\xa3xy", 3), v) == "insufficient bytes");
  CHECK(head(std::string("\xc1", 1), v) == "parse error");
  CHECK(head(std::string("\xd4\x01\x00", 3), v) == "ext size overflow");
  CHECK(head(std::string("\xc4\x01x", 3), v) == "bin size overflow");
  CHECK(head(std::string("\xc4\x00", 2), v).empty()); // an empty bin is nothing
  // Every truncation of a nested value.
  auto nested = packed(std::map<std::string, std::vector<std::string>>{{"k", {"a", "bb", std::string(40, 'c')}}});
  for (std::size_t n = 0; n < nested.size(); ++n)
    CHECK(skip(nested.substr(0, n)) == "insufficient bytes");
  CHECK(skip(nested).empty());
}

TEST_CASE("the parser limits of docs/protocol.md §3") {
  std::map<int, int> pairs;
  for (int i = 0; i < 65; ++i)
    pairs[i] = i;
  CHECK(skip(packed(pairs)) == "map size overflow");
  pairs.erase(64);
  CHECK(skip(packed(pairs)).empty());
  // Nine nested arrays: deeper than 8 levels.
  CHECK(skip(std::string(8, '\x91') + '\x00').empty());
  CHECK(skip(std::string(9, '\x91') + '\x00') == "depth size overflow");
  CHECK(skip(packed(std::vector<int>(max_long_list_entries + 1, 0))) == "array size overflow");
}

TEST_CASE("read_map notes each key and value, and where they are") {
  auto bytes = packed(std::map<std::string, int>{{"id", 7}, {"t", 1}});
  msgpack_reader r(bytes.data(), bytes.data() + bytes.size());
  msgpack_value m{};
  REQUIRE(r.head(m) == nullptr);
  msgpack_map map;
  REQUIRE(read_map(r, m, 1, map) == nullptr);
  CHECK(r.pos() == r.end());
  REQUIRE(map.size == 2);
  CHECK(std::string(map.pairs[0].key, map.pairs[0].key_size) == "id");
  CHECK(map.pairs[0].key_tag == tag_of("id"));
  CHECK(map.pairs[0].v.u == 7);
  CHECK(map.pairs[1].v.u == 1);
}

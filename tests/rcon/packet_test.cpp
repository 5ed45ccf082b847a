// The RCON packet codec: round trips, byte layout, incremental feeding and every rejection.

#include "rcon/packet.hpp"

#include <catch2/catch.hpp>

using namespace clusterio::rcon;

TEST_CASE("encode writes size, id, type, body and two NULs, little-endian") {
  auto bytes = encode(packet{7, exec_command, "hi"});
  REQUIRE(bytes.size() == 16);
  CHECK(bytes == std::string("\x0c\0\0\0\x07\0\0\0\x02\0\0\0hi\0\0", 16));
}

TEST_CASE("decoder handles packets split at every byte and several per chunk") {
  std::string stream = encode(packet{1, auth, "pw"}) + encode(packet{-1, auth_response, ""})
                       + encode(packet{3, response_value, std::string(70000, 'z')});
  decoder d;
  std::vector<packet> got;
  for (char c : stream) {
    d.feed(std::string_view(&c, 1));
    packet p;
    while (d.next(p) == decoder::status::ok)
      got.push_back(p);
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0].body == "pw");
  CHECK(got[1].id == -1);
  CHECK(got[2].body.size() == 70000);
  CHECK(d.buffered() == 0);
}

TEST_CASE("decoder rejects bad sizes and terminators") {
  struct row {
    std::string bytes;
    const char* error_part;
  };
  std::string bad_term = encode(packet{1, 2, "x"});
  bad_term[bad_term.size() - 1] = 'x';
  std::vector<row> rows{
      {std::string("\x09\0\0\0", 4), "below the minimum"},
      {std::string("\xff\xff\xff\xff", 4), "below the minimum"},
      {std::string("\x00\x00\x00\x7f", 4), "exceeds the limit"},
      {bad_term, "two NUL"},
  };
  for (auto& r : rows) {
    decoder d(1 << 20);
    d.feed(r.bytes);
    packet p;
    INFO(r.error_part);
    CHECK(d.next(p) == decoder::status::error);
    CHECK(d.error().find(r.error_part) != std::string::npos);
    CHECK(d.next(p) == decoder::status::error); // the stream stays failed
  }
}

// Bugs found while fuzzing the parsers (fuzz/), one test each, named after what was found. The
// inputs are also in fuzz/corpus/<target>/regression_*, so the fuzzers start from them.

#include <catch2/catch.hpp>

#include <string>

#include "messages/message.hpp"
#include "slave/config.hpp"

using namespace clusterio;

TEST_CASE("wire_decode: empty map keys are compared without memcmp on a null pointer") {
  // fuzz/wire_decode found it: msgpack-c's object operator== calls memcmp(ptr, ptr, 0) with the
  // null pointer of an empty string, undefined behaviour (UBSan: "null pointer passed as argument
  // 1, which is declared to never be null") in the gateway's duplicate-key check.
  const unsigned char crash[] = {0x88, 0xa0, 0x36, 0xa0, 0x36, 0x76, 0xd2, 0x65, 0x78, 0x70, 0x6f, 0x72, 0x00, 0xd2, 0x00, 0x74, 0x00,
                                 0xff, 0x00, 0x76, 0xd2, 0x65, 0x78, 0x70, 0x6f, 0x72, 0x00, 0xd2, 0x00, 0x74, 0x00, 0xff, 0x00};
  auto d = wire::decode(std::string_view(reinterpret_cast<const char*>(crash), sizeof crash));
  CHECK_FALSE(d.ok);
  // The minimal form: {"": 1, "": 2} is a duplicate key, reported as such.
  const unsigned char two_empty[] = {0x82, 0xa0, 0x01, 0xa0, 0x02};
  auto e = wire::decode(std::string_view(reinterpret_cast<const char*>(two_empty), sizeof two_empty));
  REQUIRE_FALSE(e.ok);
  CHECK(e.err.code == wire::error_code::invalid);
  CHECK(e.err.message == "key appears twice");
}

TEST_CASE("slave_config: the master's port must be a port, so the bus port can be derived") {
  // Found while writing fuzz/slave_config: "master" was only checked for a ':', so
  // "host:2147483647" passed and bus_endpoint() computed INT_MAX + 1 (signed overflow), and
  // "host:x" silently became bus port 1.
  for (const char* bad : {R"({"master":"host:2147483647"})", R"({"master":"host:x"})", R"({"master":"host:"})", R"({"master":":7100"})",
                          R"({"master":"host:65536"})", R"({"master":"host:65535"})", R"({"master_bus_port":70000})"}) {
    INFO(bad);
    slave_config c;
    REQUIRE(parse_slave_config(bad, "slave.json", c).ok());
    CHECK_FALSE(validate_slave_config(c).ok());
  }
  slave_config ok;
  REQUIRE(parse_slave_config(R"({"master":"example.org:7100","master_bus_port":0})", "slave.json", ok).ok());
  CHECK(validate_slave_config(ok).ok());
  CHECK(ok.bus_endpoint() == "tcp://example.org:7101");
}

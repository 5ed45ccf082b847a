#pragma once
// Small helpers shared by the master's tests.

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <sys/types.h>

#include <catch2/catch.hpp>

#include "client/wire_client.hpp"

namespace clusterio::test {

/// Calls and requires a reply of type T; fails the test with what came back otherwise.
template <class T> T expect_reply(wire_client& c, wire::message m, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto r = c.call(std::move(m), timeout);
  REQUIRE(r.has_value());
  if (auto* e = std::get_if<wire::error_reply>(&r->body))
    FAIL("error reply: " << wire::to_string(e->code) << " " << e->field << ": " << e->message);
  REQUIRE(std::holds_alternative<T>(r->body));
  return std::get<T>(r->body);
}

/// Calls and requires an error reply with this code.
inline wire::error_reply expect_error(wire_client& c, wire::message m, wire::error_code code) {
  auto r = c.call(std::move(m));
  REQUIRE(r.has_value());
  REQUIRE(std::holds_alternative<wire::error_reply>(r->body));
  auto e = std::get<wire::error_reply>(r->body);
  CHECK(e.code == code);
  return e;
}

inline std::int64_t stock_of(wire_client& c, const std::string& name) {
  auto inv = expect_reply<wire::inventory_levels>(c, wire::inventory_query{});
  for (auto& l : inv.levels)
    if (l.name == name)
      return l.count;
  return 0;
}

/// Every reply to the given ids, from whatever frames they come in (single or batch); counts
/// the batch frames into `batch_frames`.
inline std::map<std::uint64_t, wire::decoded> replies_to(wire_client& c, const std::set<std::uint64_t>& ids, int& batch_frames) {
  using namespace std::chrono_literals;
  std::map<std::uint64_t, wire::decoded> got;
  std::vector<wire::decoded> decoded;
  while (got.size() < ids.size()) {
    auto frame = c.recv_raw(5s);
    REQUIRE(frame);
    if (wire::decode_frame(*frame, decoded))
      ++batch_frames;
    for (auto& d : decoded) {
      auto id = d.ok ? d.value.id : d.id;
      if (ids.count(id))
        got[id] = std::move(d);
    }
  }
  return got;
}

/// One batch frame of these messages.
inline std::string batch_frame(const std::vector<wire::frame>& frames) {
  std::vector<std::string> encoded;
  for (auto& f : frames)
    encoded.push_back(wire::encode(f));
  return wire::batch_of(std::vector<std::string_view>(encoded.begin(), encoded.end()));
}

inline /// Whether `sub` receives, within `timeout`, an inventory update with `item` at `level`.
bool sees_level(bus_subscriber& sub, const std::string& item, std::int64_t level, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (auto now = std::chrono::steady_clock::now(); now < until; now = std::chrono::steady_clock::now()) {
    auto m = sub.recv(std::chrono::duration_cast<std::chrono::milliseconds>(until - now));
    if (!m)
      return false;
    if (auto* inv = std::get_if<wire::inventory_levels>(&m->second.body))
      for (auto& l : inv->levels)
        if (l.name == item && l.count == level)
          return true;
  }
  return false;
}

} // namespace clusterio::test

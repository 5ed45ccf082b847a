// A full disk under a real master: the commit that cannot be written is refused with
// `unavailable` (nothing is acknowledged that is not on disk), the master stays up and says why,
// reloads what it committed and tries again every 10 s, and once there is room it holds exactly
// what it acknowledged and takes writes again, without a restart; the refused batches, re-sent,
// apply once.
//
// The disk is a small tmpfs in a mount namespace this test makes for itself (its own binary:
// the namespace must be made while the process has one thread).

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>

#include "tests/master/helpers.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {

/// Writes one line to a /proc file of this process; "" or why it failed.
std::string write_proc(const std::string& path, const std::string& line) {
  std::ofstream f(path);
  f << line;
  f.flush();
  return f ? "" : path + ": " + std::strerror(errno);
}

/// Puts this process (and the processes it starts) in a mount namespace of its own, so that
/// mounts stay private to the test. As root (CI) that is all; another user becomes root in a
/// user namespace of its own first. "" or why it cannot.
std::string private_mounts() {
  auto uid = ::geteuid(), gid = ::getegid();
  if (uid != 0) {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      return std::string("unshare(CLONE_NEWUSER | CLONE_NEWNS): ") + std::strerror(errno) + " (run as root, or allow user namespaces)";
    for (auto& [path, line] : std::vector<std::pair<std::string, std::string>>{
           {"/proc/self/setgroups", "deny"}, {"/proc/self/uid_map", "0 " + std::to_string(uid) + " 1"}, {"/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"}})
      if (auto why = write_proc(path, line); !why.empty())
        return why;
  } else if (::unshare(CLONE_NEWNS) != 0) {
    return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return std::string("making / private: ") + std::strerror(errno);
  return "";
}

std::string mount_tmpfs(const std::string& dir, const std::string& size, unsigned long flags = 0) {
  auto options = "size=" + size + ",mode=0700";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", flags, options.c_str()) != 0)
    return "mount tmpfs " + options + " on " + dir + ": " + std::strerror(errno);
  return "";
}

} // namespace

TEST_CASE("a full disk: refused, not acknowledged; once there is room, exactly what was acknowledged, without a restart") {
  static const std::string why = private_mounts(); // once: the second run is already in it
  if (!why.empty())
    FAIL(why);
  const std::string durability = GENERATE(as<std::string>{}, "full", "process");
  INFO("durability " << durability);
  // 4 MiB: room for the database and a few hundred commits of the records below (~20 KB each).
  auto disk = temp_dir("disk-full");
  REQUIRE(mount_tmpfs(disk, "4m").empty());
  ::setenv("TMPDIR", disk.c_str(), 1); // the fixture's data directory goes on the small disk

  master_fixture m(false, "\"durability\":\"" + durability + "\"");
  m.start();
  auto cred = m.add_client("filler", "slave");
  wire_client c(m.control_endpoint(), cred);
  auto instance = expect_reply<wire::registered>(c, wire::register_instance{"filler-world", ""}).instance_id;

  // 500 long names; each batch moves 100 of them, so each commit records ~100 levels.
  std::vector<std::string> names;
  for (int i = 0; i < 500; ++i)
    names.push_back("item-" + std::to_string(i) + "-" + std::string(180, 'x'));
  std::mt19937 rng(20261125);
  std::map<std::uint64_t, wire::item_list> sent;
  std::map<std::string, std::int64_t> acked_sum, sent_sum;
  std::uint64_t refused_batch = 0;
  wire::error_reply refusal;
  for (std::uint64_t b = 1; b <= 5000 && refused_batch == 0; ++b) {
    wire::item_list items;
    auto first = rng() % names.size();
    for (std::size_t k = 0; k < 100; ++k)
      items.push_back({names[(first + k * 5) % names.size()], static_cast<std::int64_t>(rng() % 1000 + 1)});
    sent[b] = items;
    auto r = c.call(wire::export_batch{instance, b, 1, items});
    REQUIRE(r.has_value());
    if (std::holds_alternative<wire::export_ack>(r->body)) {
      for (auto& it : items)
        acked_sum[it.name] += it.count;
    } else {
      REQUIRE(std::holds_alternative<wire::error_reply>(r->body));
      refusal = std::get<wire::error_reply>(r->body);
      refused_batch = b;
    }
  }
  REQUIRE(refused_batch > 1); // the disk filled, and not before the first commit
  INFO("first refused batch " << refused_batch);
  CHECK(refusal.code == wire::error_code::unavailable);
  CHECK(refusal.message.find("storage failed") != std::string::npos);
  CHECK(refusal.message.find("full") != std::string::npos); // SQLite's "database or disk is full"

  // Still up, and says why to every request: its memory may hold what the failed commit did
  // not write, so it neither takes nor shows anything until it has reloaded from the database.
  std::string exit_why;
  CHECK(m.running(exit_why));
  CHECK(expect_error(c, wire::inventory_query{}, wire::error_code::unavailable).message == refusal.message);
  sent[refused_batch + 1] = {{names[0], 7}};
  expect_error(c, wire::export_batch{instance, refused_batch + 1, 1, sent[refused_batch + 1]}, wire::error_code::unavailable);

  // Within its recovery interval (10 s) it reloads what was committed: exactly what it
  // acknowledged. The disk is still full, so the next write fails and is refused again.
  std::map<std::string, std::int64_t> stock;
  auto read_stock = [&](wire_client& from) {
    auto r = from.call(wire::inventory_query{});
    if (!r || !std::holds_alternative<wire::inventory_levels>(r->body))
      return false;
    stock.clear();
    for (auto& l : std::get<wire::inventory_levels>(r->body).levels)
      stock[l.name] = l.count;
    return true;
  };
  if (!eventually([&] { return read_stock(c); }, 30s, 500ms))
    FAIL("the master did not reload; its log:\n" << m.log());
  CHECK(stock == acked_sum);
  expect_error(c, wire::export_batch{instance, refused_batch, 1, sent[refused_batch]}, wire::error_code::unavailable);

  // Room again: after the next reload it takes writes. The slave's recovery re-sends what was
  // refused; each batch applies once.
  REQUIRE(mount_tmpfs(disk, "64m", MS_REMOUNT).empty());
  if (!eventually([&] { return read_stock(c); }, 30s, 500ms))
    FAIL("the master did not reload; its log:\n" << m.log());
  CHECK(stock == acked_sum);
  for (auto b = refused_batch; b <= refused_batch + 1; ++b)
    expect_reply<wire::export_ack>(c, wire::export_batch{instance, b, 1, sent[b]});
  for (auto b = refused_batch; b <= refused_batch + 1; ++b)
    expect_reply<wire::export_ack>(c, wire::export_batch{instance, b, 1, sent[b]}); // again: a duplicate
  for (auto& [b, items] : sent)
    for (auto& it : items)
      sent_sum[it.name] += it.count;
  REQUIRE(read_stock(c));
  CHECK(stock == sent_sum);

  // And that is on disk: a restart holds the same.
  m.stop();
  REQUIRE_FALSE(m.running(exit_why));
  CHECK(exit_why == "exited with code 0");
  m.start();
  wire_client after(m.control_endpoint(), cred);
  REQUIRE(read_stock(after));
  CHECK(stock == sent_sum);
  m.stop();
}

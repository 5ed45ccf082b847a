// The slave's command journal (game/command_journal.hpp) on a real file: what it promises across
// a restart of the slave, its bound, and a damaged file refused rather than taken for empty.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "game/command_journal.hpp"

using namespace clusterio;

namespace {
std::string temp_journal() {
  auto dir = std::filesystem::temp_directory_path() / ("journal-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "command-journal.json").string();
  std::remove(path.c_str());
  return path;
}

wire::command_result done_with(std::uint64_t id, const std::string& message) {
  wire::instance_command c;
  c.command_id = id;
  c.action = "start";
  c.name = "w";
  auto r = wire::result_of(c, "host-a");
  r.message = message;
  r.output = "out";
  return r;
}
} // namespace

TEST_CASE("the command journal keeps what was applied, and what was being applied, across a restart") {
  auto path = temp_journal();
  {
    auto j = command_journal::open(path);
    REQUIRE(j);
    CHECK(j->find(7) == nullptr);
    REQUIRE(j->begin(7));
    REQUIRE(j->finish(done_with(7, "started instance 'w'")));
    REQUIRE(j->begin(8)); // the slave dies before it is done
  }
  auto j = command_journal::open(path);
  REQUIRE(j);
  auto* done = j->find(7);
  REQUIRE(done);
  CHECK(done->done);
  CHECK(done->result.message == "started instance 'w'");
  CHECK(done->result.output == "out");
  CHECK(done->result.slave == "host-a");
  auto* unfinished = j->find(8);
  REQUIRE(unfinished);
  CHECK_FALSE(unfinished->done);
  CHECK_FALSE(j->finish(done_with(9, "never begun")));
}

TEST_CASE("the command journal keeps the latest commands only, and refuses a damaged file") {
  auto path = temp_journal();
  {
    auto j = command_journal::open(path);
    REQUIRE(j);
    for (std::uint64_t id = 1; id <= command_journal::max_entries + 5; ++id) {
      REQUIRE(j->begin(id));
      REQUIRE(j->finish(done_with(id, "ok")));
    }
  }
  auto j = command_journal::open(path);
  REQUIRE(j);
  CHECK(j->find(5) == nullptr);
  CHECK(j->find(6) != nullptr);
  CHECK(j->find(command_journal::max_entries + 5) != nullptr);
  for (auto damaged : {"{\"entries\": [{\"id\": \"x\"}]}", "not json", "[]"}) {
    std::ofstream(path) << damaged;
    auto bad = command_journal::open(path);
    REQUIRE_FALSE(bad);
    CHECK(bad.why().find(path) != std::string::npos);
  }
}

TEST_CASE("the command journal is written by one process at a time") {
  auto path = temp_journal();
  {
    auto first = command_journal::open(path);
    REQUIRE(first);
    // A claim is per open file: a second opening conflicts as another process's would.
    auto second = command_journal::open(path);
    REQUIRE_FALSE(second);
    CHECK(second.why().find("is in use by another slave process (held by process " + std::to_string(::getpid()) + ")") != std::string::npos);
  }
  CHECK(command_journal::open(path)); // free again once the first is closed
}

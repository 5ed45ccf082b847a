// clusterio-master's command line: --help everywhere, and a wrong config value or unknown key
// gives a clear error naming it (no silent fallback to a default).

#include <catch2/catch.hpp>

#include <fstream>

#include "tests/support/master_fixture.hpp"

using namespace clusterio::test;

namespace {
std::pair<int, std::string> master_cli(const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> argv{exe("master/clusterio-master")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto log = dir + "/out.log";
  std::remove(log.c_str());
  child_process p(argv, log);
  int status = p.wait(20000);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(log)};
}
} // namespace

TEST_CASE("master CLI: --help on every command") {
  auto dir = temp_dir("master-cli");
  for (auto cmd : {"run", "keygen", "add-slave", "add-tool", "remove-client", "config-defaults"}) {
    INFO(cmd);
    auto [code, out] = master_cli({cmd, "--help"}, dir);
    CHECK(code == 0);
    CHECK(out.find("Usage") != std::string::npos);
  }
  auto [code, out] = master_cli({"config-defaults"}, dir);
  CHECK(code == 0);
  CHECK(out.find("\"policy\": \"fair\"") != std::string::npos);
}

TEST_CASE("master CLI: bad config values are refused with the key named") {
  auto dir = temp_dir("master-cli");
  struct row {
    std::string json, expect;
  };
  for (auto& r : std::vector<row>{{R"({"policy":"random"})", "policy"},
                                  {R"({"polcy":"fair"})", "unknown key 'polcy'"},
                                  {R"({"control_port":70000})", "control_port"},
                                  {R"({"durability":"maybe"})", "durability"},
                                  {R"({"heartbeat_ms":10})", "heartbeat_ms"},
                                  {R"({"insecure":"yes"})", "insecure"},
                                  {R"([1,2])", "JSON object"},
                                  {R"({"policy":)", "master.json"}}) {
    INFO(r.json);
    std::ofstream(dir + "/master.json") << r.json;
    auto [code, out] = master_cli({"run", "--data", dir + "/data", "--config", dir + "/master.json"}, dir);
    CHECK(code == 1);
    CHECK(out.find(r.expect) != std::string::npos);
  }
  auto [code, out] = master_cli({"add-slave", "../evil", "--data", dir + "/data"}, dir);
  CHECK(code == 1);
  CHECK(out.find("bad client name") != std::string::npos);
}

TEST_CASE("master: a second master on the same data directory is refused, until the first is gone") {
  master_fixture m(true);
  m.start();
  auto dir = temp_dir("master-cli");
  // Other ports, same data: only the data directory is shared.
  std::ofstream(dir + "/other.json") << R"({"bind":"127.0.0.1","control_port":)" << free_port() << R"(,"bus_port":)" << free_port()
                                     << R"(,"http_port":0,"insecure":true})";
  std::vector<std::string> second{"run", "--data", m.data_dir(), "--config", dir + "/other.json"};
  auto [code, out] = master_cli(second, dir);
  CHECK(code == 1);
  CHECK(out.find("data directory " + m.data_dir() + " is in use by another master (held by process " + std::to_string(m.pid()) + ")") !=
        std::string::npos);

  // kill -9 leaves no stale claim: a new master starts on the same data at once.
  m.kill_hard();
  m.start();
  std::string why;
  CHECK(m.running(why));
}


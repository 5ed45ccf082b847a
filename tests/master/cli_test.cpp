// clusterio-master's command line: --help everywhere, and a wrong config value or unknown key
// gives a clear error naming it (no silent fallback to a default).

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "store/master_db.hpp"
#include "common/sqlite.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
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

TEST_CASE("master CLI: the README's table of config keys is the one the master prints") {
  auto dir = temp_dir("master-cli");
  auto [code, table] = master_cli({"config-defaults", "--markdown"}, dir);
  REQUIRE(code == 0);
  CHECK(table.find("| `control_port` | `--control-port` | `7100` |") != std::string::npos);
  CHECK(slurp(source_dir() + "/README.md").find(table) != std::string::npos);
}

TEST_CASE("master CLI: every config key is a flag, and a flag wins over the file") {
  auto dir = temp_dir("master-cli");
  // Valid alone; with the flag's heartbeat, the timeout is shorter than a heartbeat: the flag won.
  std::ofstream(dir + "/master.json") << R"({"heartbeat_ms": 1000, "instance_timeout_ms": 2000})";
  auto [code, out] = master_cli({"run", "--data", dir + "/data", "--config", dir + "/master.json", "--heartbeat-ms", "3000"}, dir);
  CHECK(code == 1);
  CHECK(out.find("instance_timeout_ms must be at least heartbeat_ms") != std::string::npos);
  auto [code2, out2] = master_cli({"run", "--data", dir + "/data", "--max-item-names", "0"}, dir);
  CHECK(code2 == 1);
  CHECK(out2.find("max_item_names must be") != std::string::npos);
  auto [code3, out3] = master_cli({"run", "--data", dir + "/data", "--command-timeout-ms", "5000"}, dir);
  CHECK(code3 == 1);
  CHECK(out3.find("command_timeout_ms must be 10000..3600000") != std::string::npos);
  auto [code4, out4] = master_cli({"run", "--data", dir + "/data", "--command-resend-ms", "60000"}, dir);
  CHECK(code4 == 1);
  CHECK(out4.find("command_resend_ms must be at least 1000 and less than command_timeout_ms") != std::string::npos);
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
  auto [bc, bout] = master_cli({"run", "--data", dir + "/data", "--insecure", "--bind", "300.1.1.1", "--http-port", "0"}, dir);
  CHECK(bc == 1);
  CHECK(bout.find("cannot bind tcp://300.1.1.1:7100") != std::string::npos);
  CHECK(bout.find("bind must be an address of this host") != std::string::npos);
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

TEST_CASE("master: its data directory is 0700 and its database and secrets 0600, whatever the umask") {
  auto dir = temp_dir("master-cli");
  auto data = dir + "/data";
  std::ofstream(dir + "/master.json") << R"({"bind":"127.0.0.1","control_port":)" << free_port() << R"(,"bus_port":)" << free_port()
                                      << R"(,"http_port":0})";
  scoped_umask open_to_all(0);
  child_process m({exe("master/clusterio-master"), "run", "--data", data, "--config", dir + "/master.json"}, dir + "/master.log");
  REQUIRE(eventually([&] { return slurp(dir + "/master.log").find("master ready") != std::string::npos; }));
  INFO(slurp(dir + "/master.log"));
  CHECK(file_mode(data) == 0700);
  // master.db-wal and -shm exist while the master runs (WAL mode).
  for (auto file : {"master.db", "master.db-wal", "master.db-shm", "master_key.json", "admin.token"}) {
    INFO(file);
    CHECK(file_mode(data + "/" + file) == 0600);
  }
  m.signal(SIGTERM);
  CHECK(m.wait(10000) == 0);

  // A data directory the user made, open to others, is left as it is, but the master says so.
  ::chmod(data.c_str(), 0755);
  child_process again({exe("master/clusterio-master"), "run", "--data", data, "--config", dir + "/master.json"}, dir + "/again.log");
  REQUIRE(eventually([&] { return slurp(dir + "/again.log").find("master ready") != std::string::npos; }));
  CHECK(file_mode(data) == 0755);
  CHECK(slurp(dir + "/again.log").find("data directory " + data + " is open to other users (mode 755)") != std::string::npos);
  again.signal(SIGTERM);
  CHECK(again.wait(10000) == 0);
}

namespace {
std::int64_t db_version(const std::string& path) {
  auto db = sql::database::open(path, true);
  REQUIRE(db);
  auto q = (*db)->prepare("PRAGMA user_version");
  REQUIRE(q.step());
  return q.int64(0);
}

void set_db_version(const std::string& path, std::int64_t version) {
  auto db = sql::database::open(path, true);
  REQUIRE(db);
  REQUIRE((*db)->exec("PRAGMA user_version=" + std::to_string(version)).ok());
}
} // namespace

TEST_CASE("master: a database of a newer version is refused, not misread; an unversioned one is stamped") {
  auto dir = temp_dir("master-cli");
  auto data = dir + "/data";
  // add-slave makes the database (the clients table only), stamped with this build's version.
  REQUIRE(master_cli({"add-slave", "early", "--data", data, "--out", dir + "/early.cred.json"}, dir).first == 0);
  CHECK(db_version(data + "/master.db") == master_db_version);
  set_db_version(data + "/master.db", master_db_version + 1);
  std::ofstream(dir + "/master.json") << R"({"bind":"127.0.0.1","control_port":)" << free_port() << R"(,"bus_port":)" << free_port()
                                      << R"(,"http_port":0})";
  auto expect = data + "/master.db was written by a newer clusterio-master (database version " + std::to_string(master_db_version + 1) +
                "; this one reads version " + std::to_string(master_db_version) + ")";
  for (auto& args : std::vector<std::vector<std::string>>{{"run", "--data", data, "--config", dir + "/master.json"},
                                                          {"add-slave", "late", "--data", data, "--out", dir + "/late.cred.json"}}) {
    INFO(args[0]);
    auto [code, out] = master_cli(args, dir);
    CHECK(code == 1);
    CHECK(out.find(expect) != std::string::npos);
  }
  CHECK(db_version(data + "/master.db") == master_db_version + 1); // left as it was

  // A database from before versions (user_version 0) is this version's layout: run, stamped.
  set_db_version(data + "/master.db", 0);
  child_process master({exe("master/clusterio-master"), "run", "--data", data, "--config", dir + "/master.json"}, dir + "/run.log");
  CHECK(eventually([&] { return slurp(dir + "/run.log").find("master ready") != std::string::npos || !master.running(); }, std::chrono::seconds(10)));
  CHECK(slurp(dir + "/run.log").find("master ready") != std::string::npos);
  CHECK(db_version(data + "/master.db") == master_db_version);
  master.signal(SIGTERM);
  CHECK(master.wait(10000) == 0);
}

TEST_CASE("master CLI: add-slave and add-tool never silently replace a client or a credential file") {
  auto dir = temp_dir("master-cli");
  auto data = dir + "/data", file = dir + "/host1.cred.json";
  REQUIRE(master_cli({"add-slave", "host1", "--data", data, "--out", file}, dir).first == 0);
  auto key_in = [](const std::string& path) {
    auto c = load_credential(path);
    REQUIRE(c);
    return c->keys.public_key;
  };
  auto first_key = key_in(file);

  // The same name again, as a slave or as a tool: refused, naming what it is.
  for (auto& args : std::vector<std::vector<std::string>>{{"add-slave", "host1", "--data", data, "--out", dir + "/other.json"},
                                                          {"add-tool", "host1", "--role", "subscriber", "--data", data, "--out", dir + "/other.json"}}) {
    INFO(args[0]);
    auto [code, out] = master_cli(args, dir);
    CHECK(code == 1);
    CHECK(out.find("a client named 'host1' exists already (slave): choose another name, or add --replace") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(dir + "/other.json"));
  // Another name into an existing file: refused, the file untouched.
  auto [code, out] = master_cli({"add-slave", "host2", "--data", data, "--out", file}, dir);
  CHECK(code == 1);
  CHECK(out.find(file + " exists: choose another --out, or add --replace") != std::string::npos);
  CHECK(key_in(file) == first_key);
  // Nothing of host2 was kept: the name is free.
  CHECK(master_cli({"add-slave", "host2", "--data", data, "--out", dir + "/host2.cred.json"}, dir).first == 0);

  // --replace: a new key for the name, written over its file.
  auto [rc, rout] = master_cli({"add-slave", "host1", "--data", data, "--out", file, "--replace"}, dir);
  CHECK(rc == 0);
  CHECK(rout.find("any earlier key of that name is revoked") != std::string::npos);
  CHECK(key_in(file) != first_key);
}


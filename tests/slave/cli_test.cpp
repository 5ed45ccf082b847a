// The slave's command line: create, list, start, stop, delete, config, and the clear errors for
// bad names, unknown instances and a missing factorio directory; installing the mod and upgrading
// an instance to it.

#include <catch2/catch.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/wire_client.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/slave_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {
/// A master address nothing listens on: the slave must run its games anyway.
std::string dead_master() { return "127.0.0.1:" + std::to_string(free_port()); }

/// Whether the master lists this slave's instance as online (asked with an admin credential).
bool instance_online(wire_client& admin, const std::string& slave, const std::string& instance) {
  auto r = admin.call(wire::slaves_query{});
  auto* list = r ? std::get_if<wire::slaves_reply>(&r->body) : nullptr;
  return list && std::any_of(list->instances.begin(), list->instances.end(),
                             [&](const wire::instance_info& i) { return i.slave == slave && i.name == instance && i.online; });
}
} // namespace

TEST_CASE("slave CLI: bad names and unknown instances get clear errors") {
  slave_fixture s("cli", dead_master(), std::nullopt);
  for (const std::string& bad : std::vector<std::string>{"../escape", "a/b", ".hidden", "..", "with space", std::string(65, 'x')}) {
    INFO("name: " << bad);
    auto [code, out] = s.cli({"create", bad});
    CHECK(code == 1);
    CHECK(out.find("clusterio-slave:") != std::string::npos);
    CHECK(out.find("name") != std::string::npos);
  }
  for (auto cmd : {"start", "stop", "delete"}) {
    INFO("command: " << cmd);
    auto [code, out] = s.cli({cmd, "nosuch"});
    CHECK(code == 1);
    CHECK(out.find("nosuch") != std::string::npos);
  }
  auto [c1, o1] = s.cli({"config", "set", "no_such_key", "1"});
  CHECK(c1 == 1);
  CHECK(o1.find("unknown key") != std::string::npos);
  auto [c2, o2] = s.cli({"config", "set", "game_port_first", "\"x\""});
  CHECK(c2 == 1);
  auto [c4, o4] = s.cli({"config", "set", "master", "::1:7100"}); // ZeroMQ would take it for a name
  CHECK(c4 == 1);
  CHECK(o4.find("an IPv6 address goes in brackets, as in [::1]:7100") != std::string::npos);
  CHECK(s.cli({"config", "set", "master", "[::1]:7100"}).first == 0);
  auto [c3, o3] = s.cli({"config", "show"});
  CHECK(c3 == 0);
  CHECK(o3.find("\"factorio_dir\"") != std::string::npos);
}

TEST_CASE("slave CLI: a missing factorio directory is named in the error") {
  slave_fixture s("nofactorio", dead_master(), std::nullopt);
  REQUIRE(s.cli({"config", "set", "factorio_dir", "/nonexistent/factorio"}).first == 0);
  auto [code, out] = s.cli({"create", "w"});
  CHECK(code == 1);
  CHECK(out.find("/nonexistent/factorio/bin/x64/factorio") != std::string::npos);
}

TEST_CASE("slave CLI: an instance without the clusterio mod is not started, and the error says how to install it") {
  slave_fixture s("nomod", dead_master(), std::nullopt); // runs `mod install`
  s.create("world", "producer");                        // its map is made with the mod
  for (auto dir : {s.dir() + "/sharedMods", s.dir() + "/instances/world/mods"})
    for (auto& e : std::filesystem::directory_iterator(dir))
      std::filesystem::remove(e.path());
  auto [code, out] = s.cli({"start", "world"});
  CHECK(code == 1);
  CHECK(out.find("instance 'world' has no clusterio mod: run `clusterio-slave mod install`") != std::string::npos);
  auto [cc, cout] = s.cli({"create", "other"}); // nor is a new one made: its map needs the mod
  CHECK(cc == 1);
  CHECK(cout.find("instance 'other' has no clusterio mod") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(s.dir() + "/instances/other"));
  CHECK(s.cli({"mod", "install"}).first == 0);
  s.start("world");
  REQUIRE(eventually([&] { return s.status("world").value("state", "") == "running"; }));
}

TEST_CASE("slave CLI: the README's table of slave.json's keys is the one the slave prints") {
  slave_fixture s("table", dead_master(), std::nullopt);
  auto [code, table] = s.cli({"config", "show", "--markdown"});
  REQUIRE(code == 0);
  CHECK(table.find("| `heartbeat_ms` | `5000` |") != std::string::npos);
  CHECK(slurp(source_dir() + "/README.md").find(table) != std::string::npos);
}

TEST_CASE("slave CLI: create, list, start, stop, delete") {
  slave_fixture s("life", dead_master(), std::nullopt);
  s.create("world", "producer");
  auto [lc, list] = s.cli({"list"});
  CHECK(lc == 0);
  CHECK(list.find("world") != std::string::npos);
  CHECK(list.find("stopped") != std::string::npos);
  CHECK(s.cli({"create", "world"}).first == 1); // exists already
  // Factorio's map settings: written beside the instance's config for the game's --create; ones
  // that are not a JSON object are refused before anything is made.
  std::ofstream(s.dir() + "/gen.json") << R"({"width": 64, "height": 64})";
  std::ofstream(s.dir() + "/bad.json") << "[64, 64]";
  REQUIRE(s.cli({"create", "small", "--map-gen-settings", s.dir() + "/gen.json", "--map-gen-seed", "7"}).first == 0);
  CHECK(slurp(s.dir() + "/instances/small/map-gen-settings.json") == "{\"width\": 64, \"height\": 64}\n");
  auto [bc, bout] = s.cli({"create", "odd", "--map-settings", s.dir() + "/bad.json"});
  CHECK(bc == 1);
  CHECK(bout.find("map settings: JSON that is not an object") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(s.dir() + "/instances/odd"));
  REQUIRE(s.cli({"delete", "small"}).first == 0);

  s.start("world"); // the master is unreachable: the game runs anyway
  REQUIRE(eventually([&] { return s.status("world").value("state", "") == "running"; }));
  // ... and the slave says so, rather than waiting in silence.
  CHECK(eventually([&] { return s.log("world").find("uplink: no answer from the master at tcp://127.0.0.1:") != std::string::npos; }, 20s));
  CHECK(s.cli({"list"}).second.find("running") != std::string::npos);
  // A second slave process on the same instance would run a second game on its save.
  auto [twice, twice_out] = s.cli({"start", "world"});
  CHECK(twice == 1);
  CHECK(twice_out.find("instance 'world' is already run by another slave (held by process ") != std::string::npos);
  auto [dc, dout] = s.cli({"delete", "world"});
  CHECK(dc == 1);
  CHECK(dout.find("running") != std::string::npos);

  auto [sc, sout] = s.cli({"stop", "world"});
  CHECK(sc == 0);
  REQUIRE(eventually([&] { return !s.running("world"); }));
  CHECK(s.status("world").value("state", "") == "stopped");
  CHECK(s.cli({"list"}).second.find("stopped") != std::string::npos);
  CHECK(s.cli({"delete", "world"}).first == 0);
  CHECK(s.cli({"list"}).second.find("world") == std::string::npos);
}

TEST_CASE("slave: a world's folder is private whatever the umask") {
  slave_fixture s("private", dead_master(), std::nullopt);
  {
    scoped_umask open_to_all(0);
    s.create("world", "producer");
  }
  auto dir = s.dir() + "/instances/world";
  CHECK(file_mode(dir) == 0700);
  CHECK(file_mode(dir + "/config.json") == 0600); // the RCON password
}

namespace {
/// Sends `bytes` to 127.0.0.1:`port` and closes the connection.
void send_raw(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

/// The first line of `text` that contains `what` ("" if none).
std::string line_with(const std::string& text, const std::string& what) {
  auto at = text.find(what);
  if (at == std::string::npos)
    return "";
  auto from = text.rfind('\n', at);
  from = from == std::string::npos ? 0 : from + 1;
  return text.substr(from, text.find('\n', at) - from);
}
} // namespace

TEST_CASE("slave: a game that crashes is logged with its signal, not with an earlier error it survived") {
  slave_fixture s("crash", dead_master(), std::nullopt);
  s.create("world", "producer");
  s.start("world");
  REQUIRE(eventually([&] { return s.status("world").value("state", "") == "running"; }));
  // Garbage on the game's RCON port: the game logs an error about that connection and runs on.
  auto cfg = nlohmann::json::parse(slurp(s.dir() + "/instances/world/config.json"));
  send_raw(cfg["rcon_port"].get<int>(), std::string("\x01\0\0\0garbage!", 12));
  REQUIRE(eventually([&] { return s.log("world").find("Couldn't parse RCON data") != std::string::npos; }));
  pid_t pid = s.status("world").value("pid", 0); // game_pid() needs a master
  REQUIRE(pid > 0);
  ::kill(pid, SIGSEGV);
  REQUIRE(eventually([&] { return s.log("world").find("unexpectedly") != std::string::npos; }));
  auto line = line_with(s.log("world"), "unexpectedly");
  INFO(line);
  CHECK(line.find("died of signal 11 (SIGSEGV)") != std::string::npos);
  CHECK(line.find("RCON data") == std::string::npos);
  s.stop("world");
}

TEST_CASE("slave: with no master in its config, it links to the address in its credential file") {
  master_fixture m;
  m.start();
  auto cred = m.add_client("credhost", "slave");
  cred.master_address = m.control_endpoint().substr(std::string("tcp://").size());
  auto bus = m.bus_endpoint();
  slave_fixture s("credaddr", "", cred, std::stoi(bus.substr(bus.rfind(':') + 1)));
  s.create("world", "producer");
  s.start("world");
  wire_client admin(m.control_endpoint(), m.add_client("cred-admin", "admin"));
  REQUIRE(eventually([&] { return instance_online(admin, "credhost", "world"); }));
  // It asked the master whether it reads batch frames, after its first calls were answered.
  CHECK(eventually([&] { return s.log("world").find("uplink: the master reads batches") != std::string::npos; }));

  // An unusable address in the credential file is an error that names the file.
  cred.master_address = "no-port-here";
  slave_fixture bad("credbad", "", cred);
  bad.create("world", "producer");
  auto [code, out] = bad.cli({"start", "world"});
  CHECK(code == 1);
  CHECK(out.find("slave.cred.json: the credential file's master must be host:port") != std::string::npos);
}

TEST_CASE("slave and tools reach a master bound to the IPv6 loopback") {
  master_fixture m(false, {}, "::1"); // its start() probes it over [::1]
  m.start();
  auto cred = m.add_client("v6host", "slave");
  slave_fixture s("v6", m, cred); // master "[::1]:PORT" in slave.json
  s.create("world", "producer");
  s.start("world");
  wire_client admin(m.control_endpoint(), m.add_client("v6-admin", "admin"));
  REQUIRE(eventually([&] { return instance_online(admin, "v6host", "world"); }));
  // The bus too: the inventory broadcast (at least once a second) reaches a subscriber.
  bus_subscriber sub(m.bus_endpoint(), m.add_client("v6-sub", "subscriber"), "inventory");
  auto got = sub.recv(5s);
  REQUIRE(got.has_value());
  CHECK(std::holds_alternative<wire::inventory_levels>(got->second.body));
}

namespace {
/// The clusterio mod zips in a folder, by file name.
std::vector<std::string> mod_zips_in(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind("clusterio_", 0) == 0)
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}
} // namespace

TEST_CASE("slave: `mod install` keeps one clusterio version, and an instance runs it from its next start") {
  auto info = nlohmann::json::parse(slurp(source_dir() + "/mod/info.json"));
  auto current = info["version"].get<std::string>();
  slave_fixture s("upgrade", dead_master(), std::nullopt);
  // An "older" mod: this build's mod relabelled 0.0.1 (info.json and top folder), standing for
  // an earlier release. Its save below is stripped of fields added later, as an old save lacks them.
  auto old_zip = s.dir() + "/clusterio_0.0.1.zip";
  child_process relabel({"/usr/bin/python3", "-c", R"(
import json, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        name = "clusterio_0.0.1/" + item.filename.split("/", 1)[1]
        if name == "clusterio_0.0.1/info.json":
            info = json.loads(data); info["version"] = "0.0.1"; data = json.dumps(info).encode()
        zout.writestr(name, data)
)", build_dir() + "/mod/clusterio_" + current + ".zip", old_zip},
                        s.dir() + "/relabel.out");
  REQUIRE(relabel.wait(30000) == 0);

  auto shared = s.dir() + "/sharedMods";
  CHECK(mod_zips_in(shared) == std::vector<std::string>{"clusterio_" + current + ".zip"});
  auto [dc, dout] = s.cli({"mod", "install", "--from", old_zip}); // a downgrade, as an old slave had it
  CHECK(dc == 0);
  CHECK(dout.find("removed clusterio_" + current + ".zip") != std::string::npos);
  CHECK(mod_zips_in(shared) == std::vector<std::string>{"clusterio_0.0.1.zip"});

  s.create("world", "producer");
  s.start("world");
  REQUIRE(eventually([&] { return s.status("world").value("state", "") == "running"; }));
  CHECK(s.lua("world", "rcon.print(script.active_mods.clusterio)") == "0.0.1");
  s.lua("world", "__clusterio__ storage.request_of = nil; storage.grants_applied = nil");
  s.lua("world", "storage.upgrade_marker = 42"); // the level's storage: the world's, not the mod's
  s.stop("world"); // saves the world

  auto [uc, uout] = s.cli({"mod", "install"}); // the upgrade: this build's mod
  CHECK(uc == 0);
  CHECK(uout.find("installed clusterio_" + current + ".zip") != std::string::npos);
  CHECK(uout.find("removed clusterio_0.0.1.zip") != std::string::npos);
  CHECK(mod_zips_in(shared) == std::vector<std::string>{"clusterio_" + current + ".zip"});
  auto installed = slurp(shared + "/clusterio_" + current + ".zip");
  CHECK(installed == slurp(build_dir() + "/mod/clusterio_" + current + ".zip"));

  s.start("world");
  REQUIRE(eventually([&] { return s.status("world").value("state", "") == "running"; }));
  CHECK(mod_zips_in(s.dir() + "/instances/world/mods") == std::vector<std::string>{"clusterio_" + current + ".zip"});
  CHECK(s.lua("world", "rcon.print(script.active_mods.clusterio)") == current);
  // The world is the one saved under the old mod, and the new mod filled in what the old save
  // lacked (on_configuration_changed: the version changed).
  CHECK(s.lua("world", "rcon.print(storage.upgrade_marker)") == "42");
  CHECK(s.lua("world", "__clusterio__ rcon.print(type(storage.request_of) .. ' ' .. tostring(storage.grants_applied))") == "table 0");
  CHECK(s.mod("world", "status").contains("buffered"));
  auto log = s.log("world");
  CHECK(log.find("removed clusterio_0.0.1.zip from its mods") != std::string::npos);
  CHECK(log.find("installed " + shared + "/clusterio_" + current + ".zip into its mods") != std::string::npos);
  s.stop("world");
}

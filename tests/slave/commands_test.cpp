// Instance commands from the master (messages/command.hpp): a real CURVE master, a real
// `clusterio-slave run` with factorio-sim worlds, an admin client and clusterio-ctl. Each command,
// each refusal, at most once across a repeated id and a restarted master, a slave gone offline,
// and the audit log.

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <httplib.h>

#include "client/wire_client.hpp"
#include "common/base64.hpp"
#include "common/sha256.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/slave_fixture.hpp"
#include "tests/support/tcp_connection.hpp"
#include "tests/support/tcp_relay.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {

std::uint64_t next_command_id = 1000;

wire::instance_command command(const std::string& action, const std::string& name, const std::string& slave = {}) {
  wire::instance_command c;
  c.command_id = ++next_command_id;
  c.action = action;
  c.name = name;
  c.slave = slave;
  return c;
}

/// Sends a command and waits for its answer (a stop waits for the game to save and quit).
wire::message send(wire_client& admin, const wire::instance_command& c) {
  auto r = admin.call(c, 60s);
  REQUIRE(r);
  return r->body;
}

wire::command_result done(wire_client& admin, const wire::instance_command& c) {
  auto m = send(admin, c);
  if (auto* e = std::get_if<wire::error_reply>(&m))
    FAIL("'" << c.action << " " << c.name << "' refused: " << wire::to_string(e->code) << ": " << e->message);
  REQUIRE(std::holds_alternative<wire::command_result>(m));
  return std::get<wire::command_result>(m);
}

/// The error a command is refused with.
wire::error_reply refused(wire_client& admin, const wire::instance_command& c) {
  auto m = send(admin, c);
  INFO("'" << c.action << " " << c.name << "' answered '" << wire::type_of(m) << "'");
  REQUIRE(std::holds_alternative<wire::error_reply>(m));
  return std::get<wire::error_reply>(m);
}

/// The state the slave reports for an instance ("" if it does not list it).
std::string state_of(wire_client& admin, const std::string& slave, const std::string& name) {
  auto m = send(admin, command("list", "", slave));
  auto* r = std::get_if<wire::command_result>(&m);
  if (!r)
    return "";
  for (auto& i : r->instances)
    if (i.name == name)
      return i.state;
  return "";
}

/// Waits until the slave has reported to the master (a list of it is answered).
void wait_for_report(wire_client& admin, const std::string& slave) {
  REQUIRE(eventually([&] { return std::holds_alternative<wire::command_result>(send(admin, command("list", "", slave))); }, 30s));
}

std::string http_get(int port, const std::string& path, const std::string& token = {}) {
  tcp_connection c(port);
  c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") + "\r\n");
  return c.receive();
}

/// Runs `clusterio-ctl instance ARGS...` as the admin "ops": its exit status and output.
std::pair<int, std::string> instance_ctl(master_fixture& m, slave_fixture& s, std::vector<std::string> args) {
  std::vector<std::string> argv{exe("tools/clusterio-ctl"), "--credential", m.data_dir() + "/ops.cred.json", "--master", m.control_endpoint(),
                                "instance"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto log = s.dir() + "/ctl.log";
  ::unlink(log.c_str());
  child_process p(argv, log);
  auto st = p.wait(120000);
  return std::pair{st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(log)};
}

/// The audit log's latest 100 rows, counted by "<action> <result>".
std::map<std::string, int> audit_rows(const master_fixture& m) {
  auto token = slurp(m.data_dir() + "/admin.token").substr(0, 64);
  auto reply = http_get(m.http_port(), "/api/audit?limit=100", token);
  REQUIRE(http_status_of(reply) == 200);
  auto audit = nlohmann::json::parse(reply.substr(reply.find("\r\n\r\n") + 4));
  std::map<std::string, int> rows;
  for (auto& e : audit["entries"])
    ++rows[e["action"].get<std::string>() + " " + e["result"].get<std::string>()];
  return rows;
}

/// Sends a command from a client of its own, in the background: the answer (none if the call
/// failed), and how long it took.
std::future<std::pair<std::optional<wire::message>, std::chrono::steady_clock::duration>>
send_in_background(const master_fixture& m, const credential& cred, const wire::instance_command& c) {
  return std::async(std::launch::async, [endpoint = m.control_endpoint(), cred, c] {
    wire_client other(endpoint, cred);
    auto sent = std::chrono::steady_clock::now();
    auto r = other.call(c, 90s);
    return std::pair{r ? std::optional<wire::message>(r->body) : std::nullopt, std::chrono::steady_clock::now() - sent};
  });
}

/// How many times `part` occurs in `text`.
std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size()))
    ++n;
  return n;
}

} // namespace

TEST_CASE("instance commands: create, start, console, stop, restart, delete and list on a real slave, each refusal clear") {
  master_fixture m;
  m.start();
  auto admin_cred = m.add_client("ops", "admin");
  wire_client admin(m.control_endpoint(), admin_cred);
  slave_fixture s("host-a", m, m.add_client("host-a", "slave"));
  s.run(); // no instance yet: it waits for commands

  wait_for_report(admin, "host-a");
  auto create = command("create", "world1", "host-a");
  create.scenario = "producer";
  auto created = done(admin, create);
  CHECK(created.slave == "host-a");
  CHECK(created.message.find("created instance 'world1'") != std::string::npos);
  CHECK(std::filesystem::exists(s.dir() + "/instances/world1/config.json"));
  CHECK(state_of(admin, "host-a", "world1") == "stopped");

  CHECK(refused(admin, command("create", "world1", "host-a")).code == wire::error_code::conflict);
  CHECK(refused(admin, command("create", "world2", "nosuch")).code == wire::error_code::unavailable);
  CHECK(refused(admin, command("create", "world2")).field == "slave");
  auto bad_name = command("create", "../x", "host-a");
  CHECK(refused(admin, bad_name).code == wire::error_code::invalid); // the codec refuses a label with '/'
  CHECK(refused(admin, command("start", "nosuch")).code == wire::error_code::not_found);
  CHECK(refused(admin, command("stop", "world1")).code == wire::error_code::conflict); // not running
  CHECK(refused(admin, command("jump", "world1")).field == "action");

  // Start, by name only: the master finds its slave.
  auto start = command("start", "world1");
  CHECK(done(admin, start).message == "started instance 'world1'");
  s.wait_running("world1");
  auto game = s.game_pid("world1");
  CHECK(game > 0);
  CHECK(refused(admin, command("start", "world1")).code == wire::error_code::conflict);
  // The same command again (a retry): answered with the first result, not applied twice.
  auto again = done(admin, start);
  CHECK(again.repeated);
  CHECK(s.game_pid("world1") == game);

  auto console = command("command", "world1");
  console.text = "/c rcon.print(6 * 7)";
  CHECK(done(admin, console).output == "42");

  // The game's console output: the latest lines, then only what follows a line's number.
  // (The game's output reaches the slave a moment after the command's reply.)
  wire::command_result log;
  CHECK(eventually([&] {
    log = done(admin, command("log", "world1"));
    return !log.lines.empty() && log.lines.back().text.find("[COMMAND] <server> (command): rcon.print(6 * 7)") != std::string::npos;
  }, 10s));
  CHECK(log.lines.size() <= wire::default_log_lines);
  CHECK(log.next_line == log.lines.back().seq);
  auto chat = command("command", "world1");
  chat.text = "hello from the master";
  done(admin, chat);
  auto more = command("log", "world1");
  more.after = log.next_line;
  wire::command_result next;
  CHECK(eventually([&] { return !(next = done(admin, more)).lines.empty(); }, 10s));
  REQUIRE(next.lines.size() == 1);
  CHECK(next.lines[0].seq == log.next_line + 1);
  CHECK(next.lines[0].text.find("[CHAT] <server>: hello from the master") != std::string::npos);
  more.after = next.next_line;
  CHECK(done(admin, more).lines.empty());
  auto two = command("log", "world1");
  two.count = 2;
  CHECK(done(admin, two).lines.size() == 2);
  auto bad = command("start", "world1");
  bad.after = 3;
  CHECK(refused(admin, bad).field == "after");
  CHECK(eventually([&] { return state_of(admin, "host-a", "world1") == "running"; }, 20s));

  // Delete refuses a running instance; restart gives it a new game process.
  CHECK(refused(admin, command("delete", "world1")).code == wire::error_code::conflict);
  CHECK(done(admin, command("restart", "world1")).message == "restarted instance 'world1'");
  s.wait_running("world1");
  CHECK(s.game_pid("world1") != game);

  // Stop: the game saved and quit; a restarted slave leaves it stopped.
  CHECK(done(admin, command("stop", "world1")).message == "stopped instance 'world1'");
  CHECK(s.status("world1").value("state", "") == "stopped");
  CHECK(nlohmann::json::parse(slurp(s.dir() + "/instances/world1/config.json")).value("enabled", true) == false);
  CHECK(refused(admin, command("restart", "world1")).code == wire::error_code::conflict);

  // Delete: the folder goes, and the master forgets the instance.
  auto registered = [&] {
    auto r = admin.call(wire::slaves_query{});
    auto* list = r ? std::get_if<wire::slaves_reply>(&r->body) : nullptr;
    return list && std::any_of(list->instances.begin(), list->instances.end(), [](auto& i) { return i.name == "world1"; });
  };
  CHECK(registered());
  CHECK(done(admin, command("delete", "world1")).message == "deleted instance 'world1'");
  CHECK_FALSE(std::filesystem::exists(s.dir() + "/instances/world1"));
  CHECK(eventually([&] { return !registered(); }, 10s));
  CHECK(eventually([&] { return state_of(admin, "host-a", "world1").empty(); }, 10s));

  // Only an admin may send commands.
  wire_client slave_client(m.control_endpoint(), m.add_client("host-b", "slave"));
  auto r = slave_client.call(command("list", ""));
  REQUIRE(r);
  REQUIRE(std::holds_alternative<wire::error_reply>(r->body));
  CHECK(std::get<wire::error_reply>(r->body).code == wire::error_code::unauthorized);
  // A result nobody asked for is dropped: it neither answers a command nor writes the log.
  auto forged = wire::result_of(command("delete", "world1", "host-b"), "host-b");
  forged.message = "deleted instance 'world1'";
  slave_client.send(forged);
  std::this_thread::sleep_for(500ms);

  // The audit log: every state-changing command, who sent it and how it ended; the admin token only.
  auto token = slurp(m.data_dir() + "/admin.token").substr(0, 64);
  CHECK(http_status_of(http_get(m.http_port(), "/api/audit")) == 401);
  auto reply = http_get(m.http_port(), "/api/audit?limit=1000", token);
  REQUIRE(http_status_of(reply) == 200);
  auto audit = nlohmann::json::parse(reply.substr(reply.find("\r\n\r\n") + 4));
  std::map<std::string, int> ok_by_action;
  int refusals = 0;
  for (auto& e : audit["entries"]) {
    CHECK(e["who"] == "ops");
    if (e["result"] == "ok")
      ++ok_by_action[e["action"].get<std::string>()];
    else
      ++refusals;
  }
  CHECK(ok_by_action == std::map<std::string, int>{{"create", 1}, {"start", 1}, {"command", 2}, {"restart", 1}, {"stop", 1}, {"delete", 1}});
  CHECK(refusals >= 8);
  CHECK(audit["entries"][0]["action"] == "delete"); // newest first
}

TEST_CASE("instance commands: at most once across a restarted master, an offline slave is named, clusterio-ctl drives it all") {
  master_fixture m(false, "\"heartbeat_ms\":1000,\"instance_timeout_ms\":3000");
  m.start();
  auto admin_cred = m.add_client("ops", "admin");
  slave_fixture s("host-a", m, m.add_client("host-a", "slave"));
  REQUIRE(s.cli({"config", "set", "heartbeat_ms", "1000"}).first == 0);
  s.run();
  {
    wire_client admin(m.control_endpoint(), admin_cred);
    wait_for_report(admin, "host-a");
  }

  auto ctl = [&](std::vector<std::string> args) { return instance_ctl(m, s, std::move(args)); };

  auto [c0, o0] = ctl({"create", "host-a", "w", "--scenario", "producer"});
  INFO(o0);
  REQUIRE(c0 == 0);
  CHECK(o0 == "host-a: created instance 'w' with scenario 'producer'\n");
  auto [c1, o1] = ctl({"start", "w", "--json", "--command-id", "77"});
  INFO(o1);
  REQUIRE(c1 == 0);
  auto started = nlohmann::json::parse(o1);
  CHECK(started["message"] == "started instance 'w'");
  CHECK(started["repeated"] == false);
  s.wait_running("w");
  auto game = s.game_pid("w");

  // The master dies and comes back; the same command, sent again, is not applied again.
  m.kill_hard();
  m.start();
  auto [c2, o2] = ctl({"start", "w", "--json", "--command-id", "77"});
  INFO(o2);
  REQUIRE(c2 == 0);
  CHECK(nlohmann::json::parse(o2)["repeated"] == true);
  CHECK(s.game_pid("w") == game);
  // Commands that name only the instance need the slave's report to the new master.
  wire_client admin(m.control_endpoint(), admin_cred);
  REQUIRE(eventually([&] {
    auto msg = send(admin, command("list", ""));
    auto* r = std::get_if<wire::command_result>(&msg);
    return r && r->instances.size() == 1;
  }, 20s));

  auto [c3, o3] = ctl({"command", "w", "/c rcon.print(game.tick > 0)"});
  INFO(o3);
  CHECK(c3 == 0);
  CHECK(o3.find("host-a: sent to instance 'w'\ntrue") != std::string::npos);
  auto [c4, o4] = ctl({"list"});
  INFO(o4);
  CHECK(c4 == 0);
  CHECK(o4.find("host-a") != std::string::npos);
  CHECK(o4.find("running") != std::string::npos);
  auto [c9, o9] = ctl({"log", "w", "--lines", "3"});
  INFO(o9);
  CHECK(c9 == 0);
  CHECK(o9.find("[COMMAND] <server> (command): rcon.print(game.tick > 0)") != std::string::npos);
  auto [c5, o5] = ctl({"start", "w"});
  CHECK(c5 == 1);
  CHECK(o5.find("conflict: instance 'w' is running already") != std::string::npos);

  // A slave that stops reporting is offline: its commands are refused at once, naming it.
  // (Nothing is sent to it meanwhile: a command relayed to a stopped process waits for it.)
  s.signal_service(SIGSTOP);
  std::this_thread::sleep_for(4500ms); // past the master's 3 s
  auto offline = refused(admin, command("stop", "w", "host-a"));
  INFO(offline.message);
  CHECK(offline.code == wire::error_code::unavailable);
  CHECK(offline.message.find("slave 'host-a' is offline") != std::string::npos);
  s.signal_service(SIGCONT);
  wait_for_report(admin, "host-a");
  auto [c6, o6] = ctl({"stop", "w"});
  INFO(o6);
  CHECK(c6 == 0);
  CHECK(o6.find("stopped instance 'w'") != std::string::npos);

  // The slave installs the mod zip the master serves to game clients (its web port), checked.
  REQUIRE(s.cli({"config", "set", "master_http_port", std::to_string(m.http_port())}).first == 0);
  std::filesystem::remove_all(s.dir() + "/sharedMods");
  auto [c7, o7] = s.cli({"mod", "install", "--from-master"});
  INFO(o7);
  REQUIRE(c7 == 0);
  CHECK(o7.find("downloaded clusterio_") != std::string::npos);
  std::string file;
  for (auto& e : std::filesystem::directory_iterator(s.dir() + "/sharedMods"))
    file = e.path().filename().string();
  REQUIRE(file.rfind("clusterio_", 0) == 0);
  CHECK(slurp(s.dir() + "/sharedMods/" + file) == slurp(build_dir() + "/mod/" + file));
  // A master whose web port does not answer: a clear error, nothing installed.
  REQUIRE(s.cli({"config", "set", "master_http_port", std::to_string(free_port())}).first == 0);
  auto [c8, o8] = s.cli({"mod", "install", "--from-master"});
  CHECK(c8 == 1);
  CHECK(o8.find("cannot get the master's mod: no answer from the master's web interface") != std::string::npos);
}

TEST_CASE("instance commands: a new map's settings at create, and a failed create leaves nothing behind") {
  master_fixture m;
  m.start();
  auto admin_cred = m.add_client("ops", "admin");
  slave_fixture s("host-a", m, m.add_client("host-a", "slave"));
  s.run();
  {
    wire_client admin(m.control_endpoint(), admin_cred);
    wait_for_report(admin, "host-a");
  }
  auto ctl = [&](std::vector<std::string> args) { return instance_ctl(m, s, std::move(args)); };
  auto gen = s.dir() + "/gen.json", settings = s.dir() + "/settings.json", bad = s.dir() + "/bad.json";
  std::ofstream(gen) << R"({"width": 50, "height": 60, "seed": 1, "peaceful_mode": true})";
  std::ofstream(settings) << R"({"pollution": {"enabled": false}})";
  std::ofstream(bad) << R"({"width": 50,})";

  auto [c1, o1] = ctl({"create", "host-a", "small", "--scenario", "producer", "--map-gen-settings", gen, "--map-settings", settings,
                       "--map-gen-seed", "4000000000"});
  INFO(o1);
  REQUIRE(c1 == 0);
  CHECK(nlohmann::json::parse(slurp(s.dir() + "/instances/small/map-gen-settings.json"))["height"] == 60);
  CHECK(nlohmann::json::parse(slurp(s.dir() + "/instances/small/map-settings.json"))["pollution"]["enabled"] == false);
  REQUIRE(ctl({"start", "small"}).first == 0);
  s.wait_running("small");
  // The game made the map with them: the seed given at create overrides the file's.
  auto [c2, o2] = ctl({"command", "small", "/c local g = game.surfaces[1].map_gen_settings rcon.print(g.seed .. ' ' .. g.width .. ' ' .. g.height .. ' ' .. tostring(g.peaceful_mode))"});
  INFO(o2);
  CHECK(o2.find("4000000000 50 60 true") != std::string::npos);
  REQUIRE(ctl({"stop", "small"}).first == 0);

  // Settings that are not a JSON object are refused at the master, naming the field.
  auto [c3, o3] = ctl({"create", "host-a", "other", "--map-gen-settings", bad});
  INFO(o3);
  CHECK(c3 == 1);
  CHECK(o3.find("invalid") != std::string::npos);
  CHECK(o3.find("map_gen_settings") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(s.dir() + "/instances/other"));
  // A map the game cannot make: the error says why, no folder is left, and the name is free.
  auto [c4, o4] = ctl({"create", "host-a", "other", "--scenario", "nosuch"});
  INFO(o4);
  CHECK(c4 == 1);
  CHECK(o4.find("creating the map failed") != std::string::npos);
  CHECK(o4.find("scenario not found") != std::string::npos);
  CHECK(o4.find("Program arguments") == std::string::npos); // the cause, not the game's preamble
  CHECK_FALSE(std::filesystem::exists(s.dir() + "/instances/other"));
  auto [c5, o5] = ctl({"create", "host-a", "other", "--scenario", "producer"});
  INFO(o5);
  CHECK(c5 == 0);
}

TEST_CASE("instance commands: a slave or a master killed mid-command, each command answered and applied once") {
  master_fixture m;
  m.start();
  auto admin_cred = m.add_client("ops", "admin");
  wire_client admin(m.control_endpoint(), admin_cred);
  slave_fixture s("host-a", m, m.add_client("host-a", "slave"));
  REQUIRE(s.cli({"config", "set", "heartbeat_ms", "1000"}).first == 0);
  s.run();
  wait_for_report(admin, "host-a");
  // A second `run` of the same slave folder is refused: one process at a time writes its journal.
  auto [code, out] = s.cli({"run"});
  CHECK(code == 1);
  CHECK(out.find("is in use by another slave process") != std::string::npos);
  auto create = command("create", "w", "host-a");
  create.scenario = "producer";
  done(admin, create);

  auto in_background = [&](const wire::instance_command& c) { return send_in_background(m, admin_cred, c); };
  // The master's command_timeout_ms is 60 s: an answer well before it came from the next process.
  auto quick = std::chrono::seconds(40);

  // 1. Relayed, never read: the process is stopped when the command reaches it, then killed.
  s.signal_service(SIGSTOP);
  auto start = command("start", "w", "host-a");
  auto started = in_background(start);
  std::this_thread::sleep_for(500ms); // the master relays it into the stopped process's socket
  s.kill_service();
  s.run();
  auto [answer, took] = started.get();
  REQUIRE(answer);
  if (auto* e = std::get_if<wire::error_reply>(&*answer))
    FAIL("refused: " << wire::to_string(e->code) << ": " << e->message);
  REQUIRE(std::holds_alternative<wire::command_result>(*answer));
  CHECK(std::get<wire::command_result>(*answer).message == "started instance 'w'");
  CHECK(took < quick);
  s.wait_running("w");
  CHECK(s.service_log().find("command " + std::to_string(start.command_id) + ": start 'w': started instance 'w'") != std::string::npos);
  auto repeat = done(admin, start); // and never again
  CHECK(repeat.repeated);

  // 2. Killed while applying it: a console command that keeps the game busy for seconds.
  auto busy = command("command", "w", "host-a");
  busy.text = "/c local n = 0 for i = 1, 400000000 do n = n + 1 end rcon.print(n)";
  auto running = in_background(busy);
  auto journal = s.dir() + "/command-journal.json";
  REQUIRE(eventually([&] {
    auto j = nlohmann::json::parse(slurp(journal), nullptr, false);
    if (!j.is_object())
      return false;
    for (auto& e : j["entries"])
      if (e.value("id", std::uint64_t{0}) == busy.command_id && !e.value("done", true))
        return true;
    return false;
  }, 10s));
  s.kill_service();
  s.run();
  auto [unknown, took2] = running.get();
  REQUIRE(unknown);
  INFO("answer: " << wire::type_of(*unknown));
  REQUIRE(std::holds_alternative<wire::error_reply>(*unknown));
  CHECK(std::get<wire::error_reply>(*unknown).code == wire::error_code::internal);
  CHECK(std::get<wire::error_reply>(*unknown).message.find("whether it was applied is unknown") != std::string::npos);
  CHECK(took2 < quick);
  s.wait_running("w", 60000); // its game saved and quit; the new process starts it again

  // The log of each: one row, from the slave's answer.
  CHECK(audit_rows(m) == std::map<std::string, int>{{"create ok", 1}, {"start ok", 1}, {"command internal", 1}});

  // 3. The master killed while the slave applies a command: clusterio-ctl sends it again (same id)
  // to the next master, which relays it; the slave's journal answers it. Applied once.
  auto applied_once = std::async(std::launch::async, [&] {
    return instance_ctl(m, s, {"command", "w", "/c storage.runs = (storage.runs or 0) + 1 local n = 0 for i = 1, 200000000 do n = n + 1 end "
                                               "rcon.print(storage.runs)", "--command-id", "4242", "--json"});
  });
  REQUIRE(eventually([&] { return slurp(journal).find("\"id\":4242") != std::string::npos; }, 20s));
  m.kill_hard();
  m.start();
  auto [c4, o4] = applied_once.get();
  INFO(o4);
  REQUIRE(c4 == 0);
  CHECK(nlohmann::json::parse(o4)["output"] == "1");
  auto [c5, o5] = instance_ctl(m, s, {"command", "w", "/c rcon.print(storage.runs)"});
  CHECK(o5.find("\n1") != std::string::npos);
  auto token = slurp(m.data_dir() + "/admin.token").substr(0, 64);
  auto reply = http_get(m.http_port(), "/api/audit?limit=100", token);
  auto row = reply.find("\"command_id\":4242");
  CHECK(row != std::string::npos);
  CHECK(row == reply.rfind("\"command_id\":4242")); // one row

  // 4. A restart whose slave shuts down while the game stops: not "restarted", since it is not.
  auto slow = command("command", "w", "host-a");
  slow.text = "/c local n = 0 for i = 1, 200000000 do n = n + 1 end rcon.print(n)";
  auto slowed = in_background(slow); // the game is busy: its stop waits for this
  std::this_thread::sleep_for(300ms);
  auto restarting = in_background(command("restart", "w", "host-a"));
  std::this_thread::sleep_for(300ms);
  s.signal_service(SIGTERM);
  auto [restarted, took3] = restarting.get();
  REQUIRE(restarted);
  REQUIRE(std::holds_alternative<wire::error_reply>(*restarted));
  INFO(std::get<wire::error_reply>(*restarted).message);
  CHECK(std::get<wire::error_reply>(*restarted).message.find("the slave is shutting down") != std::string::npos);
  slowed.wait();
}

TEST_CASE("instance commands: a command or its answer lost with a broken connection is sent again and answered in seconds") {
  master_fixture m;
  m.start();
  auto admin_cred = m.add_client("ops", "admin");
  wire_client admin(m.control_endpoint(), admin_cred);
  // The slave's control connection goes through a relay the test breaks; its process stays the
  // same, so it connects again under the same routing id and nothing else tells the master.
  tcp_relay link(m.control_port());
  slave_fixture s("host-a", "127.0.0.1:" + std::to_string(link.port()), m.add_client("host-a", "slave"), m.bus_port());
  REQUIRE(s.cli({"config", "set", "heartbeat_ms", "1000"}).first == 0);
  s.run();
  wait_for_report(admin, "host-a");
  // The master's command_timeout_ms is 60 s and it sends an unanswered command again every 5 s.
  auto quick = std::chrono::seconds(30);
  auto answer_of = [&](auto& background) {
    auto [answer, took] = background.get();
    REQUIRE(answer);
    if (auto* e = std::get_if<wire::error_reply>(&*answer))
      FAIL("refused: " << wire::to_string(e->code) << ": " << e->message);
    REQUIRE(std::holds_alternative<wire::command_result>(*answer));
    INFO("answered after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    if (took >= quick)
      FAIL("slow; slave log:\n" << s.service_log() << "\nmaster log:\n" << m.log());
    return std::get<wire::command_result>(*answer);
  };

  // 1. The command is lost on its way to the slave, then the connection breaks.
  link.lose_from_server(true);
  auto create = command("create", "w", "host-a");
  create.scenario = "producer";
  auto creating = send_in_background(m, admin_cred, create);
  REQUIRE(eventually([&] { return link.lost() > 0; }, 10s));
  std::this_thread::sleep_for(500ms); // the master has relayed it into the lost bytes
  CHECK(s.service_log().find("command " + std::to_string(create.command_id) + ":") == std::string::npos);
  link.cut();
  auto created = answer_of(creating);
  CHECK(created.message.find("created instance 'w'") != std::string::npos);
  CHECK_FALSE(created.repeated); // the slave first read it when it came again

  // 2. The slave applies a command, and its answer is lost on its way to the master.
  link.lose_from_client(true);
  auto start = command("start", "w", "host-a");
  auto starting = send_in_background(m, admin_cred, start);
  auto applied = "command " + std::to_string(start.command_id) + ": start 'w': started instance 'w'";
  REQUIRE(eventually([&] { return s.service_log().find(applied) != std::string::npos; }, 20s));
  std::this_thread::sleep_for(500ms); // its answer has gone into the lost bytes
  link.cut();
  auto started = answer_of(starting);
  CHECK(started.message == "started instance 'w'");
  CHECK(started.repeated); // the journal's answer to the command sent again
  s.wait_running("w");
  CHECK(count_of(s.service_log(), applied) == 1); // applied once

  // One audit row each, from the slave's answers.
  CHECK(audit_rows(m) == std::map<std::string, int>{{"create ok", 1}, {"start ok", 1}});
}

TEST_CASE("instance commands: a slave that does not answer within command_timeout_ms, its late answer logged and given to a repeat") {
  master_fixture m(false, "\"command_timeout_ms\":10000");
  m.start();
  wire_client admin(m.control_endpoint(), m.add_client("ops", "admin"));
  slave_fixture s("host-a", m, m.add_client("host-a", "slave"));
  REQUIRE(s.cli({"config", "set", "heartbeat_ms", "1000"}).first == 0);
  s.run();
  wait_for_report(admin, "host-a");
  auto create = command("create", "w", "host-a");
  create.scenario = "producer";
  done(admin, create);

  s.signal_service(SIGSTOP);
  auto start = command("start", "w", "host-a");
  auto sent = std::chrono::steady_clock::now();
  auto late = refused(admin, start);
  auto waited = std::chrono::steady_clock::now() - sent;
  INFO(late.message);
  CHECK(late.code == wire::error_code::unavailable);
  CHECK(late.message.find("did not answer within 10 s") != std::string::npos);
  CHECK(waited >= 9s);
  CHECK(waited < 30s);

  // The slave goes on: it applies the command once (it was sent to it more than once meanwhile),
  // its answer goes into the audit log, and the same command sent again is answered with it.
  s.signal_service(SIGCONT);
  auto applied = "command " + std::to_string(start.command_id) + ": start 'w': started instance 'w'";
  REQUIRE(eventually([&] { return s.service_log().find(applied) != std::string::npos; }, 20s));
  REQUIRE(eventually([&] { return m.log().find("after its admin stopped waiting") != std::string::npos; }, 10s));
  auto again = done(admin, start);
  CHECK(again.repeated);
  CHECK(again.message == "started instance 'w'");
  s.wait_running("w");
  CHECK(count_of(s.service_log(), applied) == 1);
}

TEST_CASE("instance commands: two hosts under one slave's credential, one takes the commands and both are told") {
  master_fixture m(false, "\"heartbeat_ms\":1000,\"instance_timeout_ms\":3000");
  m.start();
  wire_client admin(m.control_endpoint(), m.add_client("ops", "admin"));
  auto cred = m.add_client("host-a", "slave");
  slave_fixture first("host-a", m, cred);
  first.run();
  wait_for_report(admin, "host-a");
  auto create = command("create", "w1", "host-a");
  create.scenario = "producer";
  done(admin, create); // the first host's list has w1, the second's nothing
  auto lists_w1 = [&] { return !done(admin, command("list", "", "host-a")).instances.empty(); };

  // The second takes over (for all the master knows, a restart); when the first reports again,
  // it is refused, and the master and the first host's log say why.
  slave_fixture second("host-a", m, cred);
  second.run();
  REQUIRE(eventually([&] { return m.log().find("two processes report as slave 'host-a'") != std::string::npos; }, 20s));
  REQUIRE(eventually([&] { return first.service_log().find("the master refused this host's report: conflict") != std::string::npos; }, 10s));
  CHECK(first.service_log().find("two hosts share this slave's credential") != std::string::npos);
  // Commands go to the one that took over, and stay there while both report.
  CHECK_FALSE(lists_w1());
  std::this_thread::sleep_for(3s);
  CHECK_FALSE(lists_w1());
  CHECK(count_of(m.log(), "two processes report as slave 'host-a'") == 1); // each logged once a minute at most
  CHECK(count_of(first.service_log(), "the master refused this host's report") == 1);

  // Once the second is gone, the first takes the commands again.
  second.kill_service();
  CHECK(eventually([&] { return lists_w1(); }, 20s));
}

TEST_CASE("the web API: sign in for a session cookie, commands with its CSRF token, sign out") {
  master_fixture m;
  m.start();
  slave_fixture s("host-a", m, m.add_client("host-a", "slave"));
  s.run();
  {
    wire_client admin(m.control_endpoint(), m.add_client("ops", "admin"));
    wait_for_report(admin, "host-a");
  }
  httplib::Client http("127.0.0.1", m.http_port());
  http.set_read_timeout(30, 0);
  auto json_of = [](const httplib::Result& r) { return nlohmann::json::parse(r->body); };
  auto token = slurp(m.data_dir() + "/admin.token").substr(0, 64);
  const std::string create = R"({"action":"create","slave":"host-a","name":"w3","scenario":"producer"})";

  // A viewer: no session, and no state change.
  CHECK(json_of(http.Get("/api/session"))["role"] == "viewer");
  CHECK(http.Post("/api/commands", create, "application/json")->status == 401);
  CHECK(http.Post("/api/session", R"({"token":"0000"})", "application/json")->status == 401);
  CHECK(http.Post("/api/session", "not json", "application/json")->status == 400);

  // Sign in: an HttpOnly, SameSite=Strict cookie, and the CSRF token every change must carry.
  auto in = http.Post("/api/session", nlohmann::json{{"token", token}}.dump(), "application/json");
  REQUIRE(in);
  REQUIRE(in->status == 200);
  auto set_cookie = in->get_header_value("Set-Cookie");
  CHECK(set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(set_cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(set_cookie.find("Secure") == std::string::npos); // no TLS in front
  auto csrf = json_of(in)["csrf"].get<std::string>();
  httplib::Headers session{{"Cookie", set_cookie.substr(0, set_cookie.find(';'))}};
  auto who = json_of(http.Get("/api/session", session));
  CHECK(who["role"] == "admin");
  CHECK(who["csrf"] == csrf);
  CHECK(http.Post("/api/commands", session, create, "application/json")->status == 403); // no CSRF token
  auto wrong = session;
  wrong.emplace("X-CSRF-Token", std::string(64, 'a'));
  CHECK(http.Post("/api/commands", wrong, create, "application/json")->status == 403);

  // A command: taken at once, its result fetched by id.
  auto with_csrf = session;
  with_csrf.emplace("X-CSRF-Token", csrf);
  auto result_of_command = [&](const httplib::Headers& h, const std::string& body) {
    auto posted = http.Post("/api/commands", h, body, "application/json");
    REQUIRE(posted);
    INFO(posted->body);
    REQUIRE(posted->status == 202);
    auto id = json_of(posted)["command_id"].get<std::uint64_t>();
    nlohmann::json state;
    REQUIRE(eventually([&] {
      state = json_of(http.Get("/api/commands?id=" + std::to_string(id), h));
      return state["state"] == "done";
    }, 60s));
    return state;
  };
  auto created = result_of_command(with_csrf, create);
  CHECK(created["t"] == "command_result");
  CHECK(created["message"] == "created instance 'w3' with scenario 'producer'");
  auto again = result_of_command(with_csrf, create);
  CHECK(again["t"] == "error");
  CHECK(again["code"] == "conflict");
  CHECK(http.Post("/api/commands", with_csrf, R"({"action":"start","name":"../x"})", "application/json")->status == 400);
  CHECK(http.Get("/api/commands?id=1")->status == 401); // results only for the admin

  // Scripts use the admin token (no cookie, so no CSRF token).
  httplib::Headers bearer{{"Authorization", "Bearer " + token}};
  CHECK(result_of_command(bearer, R"({"action":"start","name":"w3"})")["message"] == "started instance 'w3'");
  s.wait_running("w3");
  CHECK(result_of_command(bearer, R"({"action":"stop","name":"w3"})")["message"] == "stopped instance 'w3'");

  // Sign out: the session ends, and its cookie is cleared.
  CHECK(http.Delete("/api/session", session)->status == 403); // needs the CSRF token too
  auto out = http.Delete("/api/session", with_csrf);
  REQUIRE(out);
  CHECK(out->status == 200);
  CHECK(out->get_header_value("Set-Cookie").find("Max-Age=0") != std::string::npos);
  CHECK(json_of(http.Get("/api/session", session))["role"] == "viewer");
  CHECK(http.Post("/api/commands", with_csrf, create, "application/json")->status == 401);

  // Behind a TLS proxy the cookie is Secure.
  auto tls = http.Post("/api/session", httplib::Headers{{"X-Forwarded-Proto", "https"}}, nlohmann::json{{"token", token}}.dump(),
                       "application/json");
  REQUIRE(tls);
  CHECK(tls->get_header_value("Set-Cookie").find("; Secure") != std::string::npos);

  // The audit log names the web page as who sent them.
  auto audit = http.Get("/api/audit", bearer);
  REQUIRE(audit);
  for (auto& e : json_of(audit)["entries"])
    CHECK(e["who"] == "web");
}

TEST_CASE("instance commands: settings, and saves moved between instances in checked pieces") {
  master_fixture m;
  m.start();
  auto admin_cred = m.add_client("ops", "admin");
  wire_client admin(m.control_endpoint(), admin_cred);
  slave_fixture s("host-a", m, m.add_client("host-a", "slave"));
  s.run();
  wait_for_report(admin, "host-a");
  for (auto name : {"src", "dst"}) {
    auto create = command("create", name, "host-a");
    create.scenario = "producer";
    done(admin, create);
  }
  auto ctl = [&](std::vector<std::string> args) { return instance_ctl(m, s, std::move(args)); };

  // Settings: read, changed (a password is written for the game, never shown), each checked.
  auto settings = done(admin, command("settings", "src"));
  REQUIRE(settings.settings.size() == wire::max_settings);
  CHECK(settings.settings[0].key == "game_port");
  auto dst_port = done(admin, command("settings", "dst")).settings[0].value;
  CHECK(dst_port != settings.settings[0].value);
  auto [c0, o0] = ctl({"set", "src", "max_players=8", "public=true", "game_password=hunter2", "autosave_interval=2"});
  INFO(o0);
  REQUIRE(c0 == 0);
  CHECK(o0.find("changed max_players, public, game_password, autosave_interval of instance 'src'") != std::string::npos);
  CHECK(o0.find("game_password      (set)") != std::string::npos);
  CHECK(o0.find("hunter2") == std::string::npos);
  auto server_settings = nlohmann::json::parse(slurp(s.dir() + "/instances/src/server-settings.json"));
  CHECK(server_settings["max_players"] == 8);
  CHECK(server_settings["visibility"]["public"] == true);
  CHECK(server_settings["game_password"] == "hunter2");
  CHECK(server_settings["autosave_interval"] == 2);
  auto set = [&](std::string key, std::string value) {
    auto c = command("set", "src");
    c.settings = {{std::move(key), std::move(value)}};
    return c;
  };
  CHECK(refused(admin, set("game_port", dst_port)).code == wire::error_code::conflict);
  CHECK(refused(admin, set("autosave_interval", "0")).code == wire::error_code::invalid);
  CHECK(refused(admin, set("public", "yes")).code == wire::error_code::invalid);
  CHECK(refused(admin, set("motd", "hi")).code == wire::error_code::invalid);
  CHECK(done(admin, set("game_port", "34190")).settings[0].value == "34190");
  CHECK(nlohmann::json::parse(slurp(s.dir() + "/instances/src/config.json"))["game_port"] == 34190);

  // A world with a mark in it, saved by its stop.
  done(admin, command("start", "src"));
  s.wait_running("src");
  auto mark = command("command", "src");
  mark.text = "/c storage.moved_mark = 4242";
  done(admin, mark);
  auto running_upload = command("save-upload", "src");
  running_upload.save = "x.zip";
  running_upload.size = 4;
  running_upload.sha256 = std::string(64, 'a');
  running_upload.data = "AAAAAA==";
  CHECK(refused(admin, running_upload).code == wire::error_code::conflict); // the game would save over it
  done(admin, command("stop", "src"));

  // Download (the latest save), upload to the other instance, start it: the mark is there.
  auto saved = s.dir() + "/moved.zip";
  auto [c1, o1] = ctl({"save-download", "src", "-o", saved});
  INFO(o1);
  REQUIRE(c1 == 0);
  CHECK(o1.find("downloaded save 'src.zip'") != std::string::npos);
  CHECK(slurp(saved) == slurp(s.dir() + "/instances/src/saves/src.zip"));
  auto [c2, o2] = ctl({"save-upload", "dst", saved, "--save", "from-src.zip"});
  INFO(o2);
  REQUIRE(c2 == 0);
  CHECK(o2.find("uploaded save 'from-src.zip'") != std::string::npos);
  CHECK(slurp(s.dir() + "/instances/dst/saves/from-src.zip") == slurp(saved));
  CHECK_FALSE(std::filesystem::exists(s.dir() + "/instances/dst/upload.part"));
  done(admin, command("start", "dst"));
  s.wait_running("dst");
  auto read_mark = command("command", "dst");
  read_mark.text = "/c rcon.print(storage.moved_mark)";
  CHECK(done(admin, read_mark).output == "4242");
  done(admin, command("stop", "dst"));

  // A save in several pieces, one sent twice; then what is refused, with nothing kept.
  {
    std::ofstream blob(s.dir() + "/blob", std::ios::binary);
    for (std::size_t i = 0; i < wire::max_save_chunk_bytes * 2 + 1000; ++i)
      blob.put(static_cast<char>((i * 7919) >> 3));
  }
  REQUIRE(std::system(("cd '" + s.dir() + "' && zip -q -0 big.zip blob").c_str()) == 0); // stored: over two pieces
  auto whole = slurp(s.dir() + "/big.zip");
  REQUIRE(whole.size() > wire::max_save_chunk_bytes * 2);
  auto zip = slurp(saved);
  std::string big(wire::max_save_chunk_bytes * 2 + 10, 'b');
  auto piece = [&](std::uint64_t offset, std::size_t length, const std::string& of, const std::string& name) {
    auto c = command("save-upload", "dst");
    c.save = name;
    c.offset = offset;
    c.size = of.size();
    c.sha256 = sha256_hex(of);
    c.data = base64_encode(of.substr(offset, length));
    return c;
  };
  auto first = piece(0, wire::max_save_chunk_bytes, whole, "big.zip");
  CHECK(done(admin, first).offset == wire::max_save_chunk_bytes);
  auto again = done(admin, first); // a piece that does not complete the save is written again
  CHECK(again.offset == wire::max_save_chunk_bytes);
  CHECK_FALSE(again.repeated);
  auto gap = piece(wire::max_save_chunk_bytes * 2, 10, whole, "big.zip");
  CHECK(refused(admin, gap).message.find("bytes were received: send the piece that follows them") != std::string::npos);
  done(admin, piece(wire::max_save_chunk_bytes, wire::max_save_chunk_bytes, whole, "big.zip"));
  auto other = piece(wire::max_save_chunk_bytes * 2, 10, big, "other.zip");
  CHECK(refused(admin, other).code == wire::error_code::conflict);
  auto completing = piece(wire::max_save_chunk_bytes * 2, whole.size() - wire::max_save_chunk_bytes * 2, whole, "big.zip");
  auto last = done(admin, completing);
  CHECK(last.message.find("uploaded save 'big.zip'") != std::string::npos);
  CHECK(slurp(s.dir() + "/instances/dst/saves/big.zip") == whole);
  CHECK(done(admin, completing).repeated); // the piece that completes it: at most once
  // Only that piece is in the slave's journal, so that big uploads do not push other commands out.
  auto journal = nlohmann::json::parse(slurp(s.dir() + "/command-journal.json"));
  int pieces_journaled = 0;
  for (auto& e : journal["entries"])
    if (e["done"] == true && e["result"]["action"] == "save-upload" && e["result"].value("error", "").empty())
      pieces_journaled += e["result"]["message"].get<std::string>().find("bytes received") != std::string::npos;
  CHECK(pieces_journaled == 0);
  CHECK(journal.dump().find(std::to_string(completing.command_id)) != std::string::npos);

  auto damaged = piece(0, 1000, std::string(1000, 'x'), "bad.zip");
  damaged.sha256 = sha256_hex("something else");
  auto r1 = refused(admin, damaged);
  CHECK(r1.code == wire::error_code::invalid);
  CHECK(r1.message.find("its SHA-256 is") != std::string::npos);
  auto not_zip = refused(admin, piece(0, 1000, std::string(1000, 'x'), "bad.zip"));
  CHECK(not_zip.message.find("it is not a zip") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(s.dir() + "/instances/dst/saves/bad.zip"));
  auto too_large = piece(0, 10, zip, "huge.zip");
  too_large.size = wire::max_save_bytes + 1;
  CHECK(refused(admin, too_large).field == "size");
  auto past_end = piece(0, 10, zip, "short.zip");
  past_end.size = 5;
  CHECK(refused(admin, past_end).code == wire::error_code::invalid);
  auto bad_name = piece(0, 10, zip, "notes.txt");
  CHECK(refused(admin, bad_name).message.find("does not end in .zip") != std::string::npos);
  auto [c3, o3] = ctl({"save-download", "dst", "--save", "nosuch.zip"});
  CHECK(c3 == 1);
  CHECK(o3.find("not_found") != std::string::npos);

  // The audit log has one row per upload, not one per piece, and no password.
  auto token = slurp(m.data_dir() + "/admin.token").substr(0, 64);
  auto reply = http_get(m.http_port(), "/api/audit?limit=1000", token);
  REQUIRE(http_status_of(reply) == 200);
  CHECK(reply.find("hunter2") == std::string::npos);
  int uploads_ok = 0;
  auto audit = nlohmann::json::parse(reply.substr(reply.find("\r\n\r\n") + 4));
  for (auto& e : audit["entries"])
    uploads_ok += e["action"] == "save-upload" && e["result"] == "ok";
  CHECK(uploads_ok == 2); // from-src.zip and big.zip
}

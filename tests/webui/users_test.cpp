// Web users: `clusterio-master add-user` keeps a password only as an Argon2id hash in master.db;
// a user signs in to the page with it and gets their role's session (a viewer reads, an admin
// sends commands, named in the audit log; a removed user or a changed role takes effect at the
// next request); with `viewers_sign_in` the API shows nothing to anyone else. A real master, its
// CLI and its HTTP API.

#include <catch2/catch.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/master_fixture.hpp"
#include "tests/webui/browser.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("web users: passwords as slow hashes, viewer and admin sessions, a master that needs sign-in to view") {
  master_fixture m(false, "\"viewers_sign_in\":true");
  auto master_cli = [&](const std::string& args, const std::string& input) {
    return run("sh -c \"printf '" + input + "' | " + exe("master/clusterio-master") + " " + args + " --data " + m.data_dir() + "\"",
               m.data_dir() + "/cli.txt", 60);
  };
  auto [a0, o0] = master_cli("add-user alice --role admin", "correct horse\\n");
  INFO(o0 << slurp(m.data_dir() + "/cli.txt.err"));
  REQUIRE(a0 == 0);
  CHECK(o0 == "web user 'alice' (admin) may sign in to the page\n");
  REQUIRE(master_cli("add-user bob", "battery staple\\n").first == 0);
  auto [a1, o1] = master_cli("add-user carol", "short\\n");
  CHECK(a1 == 1);
  CHECK(slurp(m.data_dir() + "/cli.txt.err").find("a password of 8..1024 bytes") != std::string::npos);
  CHECK(master_cli("add-user 'bad name'", "long enough\\n").first == 1);
  auto [a2, users] = master_cli("users", "");
  CHECK(users == "alice admin\nbob viewer\n");
  // Only the hash is kept: Argon2id's, never the password.
  auto db = slurp(m.data_dir() + "/master.db") + slurp(m.data_dir() + "/master.db-wal");
  CHECK(db.find("$argon2id$") != std::string::npos);
  CHECK(db.find("correct horse") == std::string::npos);

  m.start();
  httplib::Client http("127.0.0.1", m.http_port());
  auto json_of = [](const httplib::Result& r) { return nlohmann::json::parse(r->body); };
  // Nobody signed in: nothing of the cluster, but the health probe, the mod and the page's files.
  CHECK(http.Get("/api/instances")->status == 401);
  CHECK(http.Get("/api/storage")->status == 401);
  CHECK(http.Get("/metrics")->status == 401);
  CHECK(http.Get("/api/health")->status == 200);
  CHECK(http.Get("/api/mod")->status != 401);
  CHECK(http.Get("/")->status == 200);
  auto anonymous = json_of(http.Get("/api/session"));
  CHECK(anonymous["signed_in"] == false);
  CHECK(anonymous["sign_in_required"] == true);
  auto token = slurp(m.data_dir() + "/admin.token").substr(0, 64);
  CHECK(http.Get("/api/instances", httplib::Headers{{"Authorization", "Bearer " + token}})->status == 200);

  auto sign_in = [&](const std::string& user, const std::string& password) {
    return http.Post("/api/session", nlohmann::json{{"user", user}, {"password", password}}.dump(), "application/json");
  };
  auto wrong = sign_in("bob", "battery stapler");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(json_of(wrong)["error"] == "wrong user name or password");
  CHECK(json_of(sign_in("nobody", "battery staple"))["error"] == "wrong user name or password"); // the same words

  // A viewer: reads the cluster, changes nothing, reads no audit log.
  auto bob = sign_in("bob", "battery staple");
  REQUIRE(bob);
  REQUIRE(bob->status == 200);
  CHECK(json_of(bob)["role"] == "viewer");
  CHECK(json_of(bob)["user"] == "bob");
  auto cookie = bob->get_header_value("Set-Cookie");
  httplib::Headers viewer{{"Cookie", cookie.substr(0, cookie.find(';'))}, {"X-CSRF-Token", json_of(bob)["csrf"].get<std::string>()}};
  CHECK(http.Get("/api/instances", viewer)->status == 200);
  CHECK(http.Get("/metrics", viewer)->status == 200);
  auto refused = http.Post("/api/commands", viewer, R"({"action":"list"})", "application/json");
  CHECK(refused->status == 403);
  CHECK(json_of(refused)["error"] == "'bob' is a viewer: this needs an admin");
  CHECK(http.Get("/api/audit", viewer)->status == 401);
  CHECK(http.Delete("/api/session", viewer)->status == 200); // a viewer signs out too
  CHECK(http.Get("/api/instances", viewer)->status == 401);

  // An admin: commands, in the audit log under their name.
  auto alice = sign_in("alice", "correct horse");
  REQUIRE(alice);
  REQUIRE(alice->status == 200);
  CHECK(json_of(alice)["role"] == "admin");
  cookie = alice->get_header_value("Set-Cookie");
  httplib::Headers admin{{"Cookie", cookie.substr(0, cookie.find(';'))}, {"X-CSRF-Token", json_of(alice)["csrf"].get<std::string>()}};
  auto posted = http.Post("/api/commands", admin, R"({"action":"start","slave":"nosuch","name":"w"})", "application/json");
  REQUIRE(posted);
  CHECK(posted->status == 202);
  nlohmann::json audit;
  REQUIRE(eventually([&] {
    audit = json_of(http.Get("/api/audit", admin));
    return !audit["entries"].empty();
  }, 10s));
  CHECK(audit["entries"][0]["who"] == "alice");
  CHECK(audit["entries"][0]["result"] == "unavailable");

  // A live session follows the table: alice made a viewer loses the commands at her next
  // request, and bob, removed while signed in, is signed out and signs in no more.
  REQUIRE(master_cli("add-user alice --role viewer", "correct horse\\n").first == 0);
  CHECK(http.Post("/api/commands", admin, R"({"action":"list"})", "application/json")->status == 403);
  CHECK(json_of(http.Get("/api/session", admin))["role"] == "viewer");
  bob = sign_in("bob", "battery staple");
  REQUIRE(bob->status == 200);
  cookie = bob->get_header_value("Set-Cookie");
  viewer = httplib::Headers{{"Cookie", cookie.substr(0, cookie.find(';'))}};
  CHECK(http.Get("/api/instances", viewer)->status == 200);
  REQUIRE(master_cli("remove-user bob", "").first == 0);
  CHECK(http.Get("/api/instances", viewer)->status == 401);
  CHECK(json_of(http.Get("/api/session", viewer))["signed_in"] == false);
  CHECK(sign_in("bob", "battery staple")->status == 401);
}

// Authentication (control/authentication.cpp) on a real master.db, its allow-list changed by a
// connection of the test's own as `clusterio-master add-slave` / `remove-client` change it
// while the master runs: who may connect (the ZAP decision), who sent a frame, and when a
// change takes effect.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <zmq.h>

#include "control/authentication.hpp"
#include "tests/support/manual_clock.hpp"

using namespace clusterio;

namespace {

struct temp_db {
  std::string dir, file;
  temp_db() {
    char tmpl[] = "/tmp/clusterio-authentication-XXXXXX";
    dir = mkdtemp(tmpl);
    file = dir + "/master.db";
  }
  ~temp_db() { std::filesystem::remove_all(dir); }
};

/// A ZAP request (RFC 27) for a CURVE client with public key `z85`.
std::vector<std::string> zap_request(const std::string& z85) {
  std::string key(32, '\0');
  REQUIRE(zmq_z85_decode(reinterpret_cast<std::uint8_t*>(key.data()), z85.c_str()));
  return {"1.0", "req-1", "clusterio", "192.0.2.7", "", "CURVE", key};
}

authentication::zap_verdict decide(authentication& auth, const std::vector<std::string>& request) {
  std::vector<std::string_view> frames(request.begin(), request.end());
  return auth.decide(frames);
}

bool admitted(authentication& auth, const std::string& z85) {
  auto verdict = decide(auth, zap_request(z85));
  if (verdict.status != "200")
    return false;
  CHECK(verdict.user_id == z85); // the key identifies the connection's frames
  return true;
}

struct fixture {
  test::manual_clock time;
  warning_limit warnings{time};
  temp_db db;
  std::unique_ptr<allow_list> admin; ///< the operator's connection
  std::unique_ptr<authentication> auth;
  key_pair slave1 = make_key_pair(), tool = make_key_pair();

  fixture() {
    auto list = allow_list::open(db.file);
    REQUIRE(list);
    admin = std::move(*list);
    REQUIRE(admin->add({"slave1", role::slave, slave1.public_key}));
    auto opened = authentication::open(db.file, warnings);
    INFO(opened.why());
    REQUIRE(opened);
    auth = std::move(*opened);
  }
};

} // namespace

TEST_CASE("a key on the allow-list connects, and its frames carry its name and role") {
  fixture f;
  CHECK(admitted(*f.auth, f.slave1.public_key));
  auto who = f.auth->identify("rid", f.slave1.public_key.c_str());
  CHECK(who.name == "slave1");
  CHECK(who.role == role::slave);
  CHECK(who.rights == rights_of(role::slave));
  CHECK(f.auth->identify("rid", f.tool.public_key.c_str()).name.empty());
  CHECK(f.auth->identify("rid", nullptr).name.empty());
}

TEST_CASE("malformed ZAP requests are refused, not answered with a crash") {
  fixture f;
  auto good = zap_request(f.slave1.public_key);
  auto short_request = std::vector<std::string>(good.begin(), good.begin() + 6);
  auto plain = good;
  plain[5] = "PLAIN";
  auto short_key = good;
  short_key[6].resize(31);
  for (auto* request : {&short_request, &plain, &short_key}) {
    auto verdict = decide(*f.auth, *request);
    CHECK(verdict.status == "400");
    CHECK(verdict.user_id.empty());
  }
}

TEST_CASE("a key added while the master runs connects at once") {
  fixture f;
  REQUIRE(f.admin->add({"grafana", role::subscriber, f.tool.public_key}));
  // No check ran: an unknown key knocking reloads a changed allow-list.
  CHECK(admitted(*f.auth, f.tool.public_key));
  auto who = f.auth->identify("rid", f.tool.public_key.c_str());
  CHECK(who.name == "grafana");
  CHECK(who.rights == rights::query);
  CHECK_FALSE(f.auth->keys_revoked());
}

TEST_CASE("a removed key is refused at the next check") {
  fixture f;
  REQUIRE(f.admin->remove("slave1"));
  // Until the check, the cache holds the key (the gateway checks every second).
  CHECK(f.auth->identify("rid", f.slave1.public_key.c_str()).name == "slave1");
  f.auth->check_for_changes();
  CHECK(f.auth->identify("rid", f.slave1.public_key.c_str()).name.empty());
  CHECK_FALSE(admitted(*f.auth, f.slave1.public_key));
  CHECK(f.auth->keys_revoked()); // the bus's connections must go
  f.auth->revocations_handled();
  CHECK_FALSE(f.auth->keys_revoked());
}

TEST_CASE("a key replaced under its name: the old one is refused, the new one connects") {
  fixture f;
  auto replacement = make_key_pair();
  REQUIRE(f.admin->replace({"slave1", role::slave, replacement.public_key}));
  f.auth->check_for_changes();
  CHECK(f.auth->identify("rid", f.slave1.public_key.c_str()).name.empty());
  CHECK_FALSE(admitted(*f.auth, f.slave1.public_key));
  CHECK(admitted(*f.auth, replacement.public_key));
  CHECK(f.auth->identify("rid", replacement.public_key.c_str()).name == "slave1");
  CHECK(f.auth->keys_revoked());
}

TEST_CASE("a check without a change keeps everything; an addition revokes nothing") {
  fixture f;
  f.auth->check_for_changes();
  CHECK(admitted(*f.auth, f.slave1.public_key));
  REQUIRE(f.admin->add({"grafana", role::subscriber, f.tool.public_key}));
  f.auth->check_for_changes();
  CHECK(admitted(*f.auth, f.tool.public_key));
  CHECK_FALSE(f.auth->keys_revoked());
}

TEST_CASE("insecure mode: everyone, with every right, named by hello or routing id") {
  auto auth = authentication::insecure();
  CHECK(auth->is_insecure());
  auto who = auth->identify("host1.4242-9f3c02ab", nullptr);
  CHECK(who.name == "host1"); // a slave's "<name>.<pid>-<random>"
  CHECK(who.rights == rights::all);
  CHECK(auth->identify("\x01\x02", nullptr).name == "anonymous");
  CHECK(auth->identify(".hidden.1", nullptr).name == "anonymous"); // not a label
  auth->note_hello("\x01\x02", "dashboard", who);
  CHECK(who.name == "dashboard");
  CHECK(auth->identify("\x01\x02", nullptr).name == "dashboard");
}

TEST_CASE("with an allow-list, hello does not rename a client") {
  fixture f;
  auto who = f.auth->identify("rid", f.slave1.public_key.c_str());
  f.auth->note_hello("rid", "someone-else", who);
  CHECK(who.name == "slave1");
  CHECK(f.auth->identify("rid", f.slave1.public_key.c_str()).name == "slave1");
}

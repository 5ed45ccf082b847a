// The control panel (webui/control.js) in a real headless Chromium, driven by clicks and typing
// (control_page.js, puppeteer-core) against a real master and a real `clusterio-slave run` with
// factorio-sim: sign in, create, start, see it online with UPS, a console command, stop, delete,
// sign out. And what a viewer cannot do.

#include <catch2/catch.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/master_fixture.hpp"
#include "tests/support/slave_fixture.hpp"
#include "tests/webui/browser.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("the control panel in headless Chromium: sign in, create, start, console, settings, saves, stop, delete, sign out, by clicks") {
  master_fixture m;
  m.start();
  slave_fixture s("host-a", m, m.add_client("host-a", "slave"));
  REQUIRE(s.cli({"config", "set", "heartbeat_ms", "1000"}).first == 0);
  s.run();
  httplib::Client http("127.0.0.1", m.http_port());
  // The page lists a slave once the master heard from it.
  REQUIRE(eventually([&] {
    auto r = http.Get("/api/instances");
    return r && r->status == 200 && nlohmann::json::parse(r->body)["slaves"].size() == 1;
  }, 30s));

  // A viewer may not change anything, whatever the page shows.
  CHECK(http.Post("/api/commands", R"({"action":"create","slave":"host-a","name":"x"})", "application/json")->status == 401);

  auto token = slurp(m.data_dir() + "/admin.token").substr(0, 64);
  auto work = build_dir() + "/artifacts";
  auto files = work + "/control-files";
  // A save to upload (a zip, as saves are) and the folder the browser downloads into.
  REQUIRE(std::system(("rm -rf " + files + " && mkdir -p " + files + "/downloads && cd " + files +
                       " && printf 'not a world, but a zip' > level.txt && zip -q other.zip level.txt").c_str()) == 0);
  auto [rc, out] = run("node " + source_dir() + "/tests/webui/control_page.js " + m.http_url() + "/ " + token + " host-a " + files,
                       work + "/control.txt", 300);
  INFO(out << slurp(work + "/control.txt.err"));
  CHECK(rc == 0);
  CHECK(out.find("ok\n") != std::string::npos);
}

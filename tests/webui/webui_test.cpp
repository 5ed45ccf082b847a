// The master's web interface against a real master process: the JSON API, /metrics under
// `promtool check metrics`, and the page in a real headless Chromium.
//
// The two "instances" here are protocol-level: a test client with a slave credential registers
// two instances, heartbeats them with UPS and exports items, exactly as a slave would. When the
// slave is ready this can drive two factorio-sim worlds instead; the checks stay the same.

#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/master/helpers.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/webui/browser.hpp"

using namespace clusterio;
using namespace clusterio::test;
using json = nlohmann::json;

namespace {

const std::string hostile_item = "<script>alert(1)</script>";

/// What north-world's put-chests hold back, as its slave's heartbeat says: more than the list.
wire::held_back_report north_held_back() {
  wire::held_back_report h;
  h.items = {{"modular-armor", 2}, {"steel-chest", 1, "rare"}, {hostile_item, 1}};
  h.items_total = 9;
  h.signals_not_shown = 5;
  return h;
}

/// A master with two registered, heartbeating instances and some stock.
struct cluster {
  master_fixture m;
  std::unique_ptr<wire_client> slave;
  std::uint64_t north = 0, south = 0, batch = 1;

  cluster() {
    m.start();
    slave = std::make_unique<wire_client>(m.control_endpoint(), m.add_client("slave1", "slave"));
    north = expect_reply<wire::registered>(*slave, wire::register_instance{"north-world", "192.0.2.10:34197"}).instance_id;
    south = expect_reply<wire::registered>(*slave, wire::register_instance{"south-world", "192.0.2.11:34198"}).instance_id;
    heartbeat(north, 59.5, 7, north_held_back());
    heartbeat(south, 42.0, 2);
    exported(north, {{"iron-plate", 100}, {"iron-plate", 7, "rare"}, {hostile_item, 3}});
    exported(south, {{"water", 2500}});
  }
  void heartbeat(std::uint64_t id, double ups, std::uint32_t players, wire::held_back_report held_back = {}) {
    expect_reply<wire::ok>(*slave, wire::heartbeat{id, ups, 123456, players, "running", std::move(held_back)});
  }
  void exported(std::uint64_t id, wire::item_list items) {
    auto b = batch++;
    expect_reply<wire::export_ack>(*slave, wire::export_batch{id, b, 1, std::move(items)});
  }
};

httplib::Result get(master_fixture& m, const std::string& path) {
  httplib::Client c("127.0.0.1", m.http_port());
  c.set_read_timeout(10, 0);
  return c.Get(path.c_str());
}

json get_json(master_fixture& m, const std::string& path) {
  auto r = get(m, path);
  REQUIRE(r);
  INFO(path << " -> " << r->status << " " << r->body);
  REQUIRE(r->status == 200);
  return json::parse(r->body);
}

/// The count cell of the row of `name` in `quality` (whose name cell has the quality's badge).
std::string quality_row_count(const std::string& dom, const std::string& name, const std::string& quality) {
  auto at = dom.find("<tr class=\"item\" data-item=\"" + name + "\" data-quality=\"" + quality + "\"");
  if (at == std::string::npos)
    return {};
  std::string row = dom.substr(at, 400);
  if (row.find("<span class=\"badge quality\">" + quality + "</span>") == std::string::npos)
    return {};
  std::smatch m;
  if (std::regex_search(row, m, std::regex("<td class=\"num count[^\"]*\">([^<]*)</td>")))
    return m[1];
  return {};
}

} // namespace

TEST_CASE("the JSON API shows instances, storage, statistics and health, read-only") {
  cluster c;
  auto inst = get_json(c.m, "/api/instances");
  REQUIRE(inst["instances"].size() == 2);
  for (auto& i : inst["instances"]) {
    CHECK(i["online"] == true);
    CHECK(i["recent_ups"].size() == 1);
  }
  CHECK(inst["instances"][0]["name"] == "north-world");
  CHECK(inst["instances"][0]["ups"] == 59.5);
  CHECK(inst["instances"][0]["players"] == 7);
  CHECK(inst["instances"][0]["game_address"] == "192.0.2.10:34197");
  CHECK(inst["instances"][1]["ups"] == 42.0);
  CHECK(inst["instances"][0]["held_back"] == json::parse(R"({"items":[{"name":"modular-armor","quality":"normal","count":2},
    {"name":"steel-chest","quality":"rare","count":1},{"name":"<script>alert(1)</script>","quality":"normal","count":1}],
    "items_total":9,"signals_not_shown":5})"));
  CHECK(inst["instances"][1]["held_back"]["items_total"] == 0);
  CHECK(inst["instances"][1]["held_back"]["items"].empty());
  REQUIRE(inst["slaves"].size() == 1);
  CHECK(inst["slaves"][0]["name"] == "slave1");

  auto stor = get_json(c.m, "/api/storage");
  std::map<std::string, json> items; // by "name/quality"
  for (auto& it : stor["items"])
    items[it["name"].get<std::string>() + "/" + it["quality"].get<std::string>()] = it;
  CHECK(items.size() == 4);
  CHECK(items["iron-plate/normal"]["count"] == 100);
  CHECK(items["iron-plate/normal"]["exported"] == 100);
  // Each quality is an item of its own.
  CHECK(items["iron-plate/rare"]["count"] == 7);
  CHECK(items["iron-plate/rare"]["exported"] == 7);
  CHECK(items[hostile_item + "/normal"]["count"] == 3);
  CHECK(items["water/normal"]["count"] == 2500);

  auto stats = get_json(c.m, "/api/stats?minutes=10");
  std::int64_t total = 0;
  for (auto& p : stats["points"])
    total += p["exported"].get<std::int64_t>();
  CHECK(total == 2610);
  auto north_iron = get_json(c.m, "/api/stats?minutes=10&item=iron-plate&instance=" + std::to_string(c.north));
  REQUIRE(north_iron["points"].size() == 1);
  CHECK(north_iron["points"][0]["exported"] == 100);
  auto rare_iron = get_json(c.m, "/api/stats?minutes=10&item=iron-plate&quality=rare");
  REQUIRE(rare_iron["points"].size() == 1);
  CHECK(rare_iron["points"][0]["exported"] == 7);
  CHECK(get_json(c.m, "/api/stats?minutes=10&item=iron-plate&quality=normal")["points"][0]["exported"] == 100);
  CHECK(get(c.m, "/api/stats?item=iron-plate&quality=a%0Ab")->status == 400);
  CHECK(get_json(c.m, "/api/stats?minutes=10&instance=" + std::to_string(c.south))["points"][0]["exported"] == 2500);
  CHECK(get_json(c.m, "/api/ups?minutes=5")["points"].size() == 2);
  CHECK(get_json(c.m, "/api/health")["ok"] == true);

  // The mod zip game clients download: the one built with the slave, byte for byte, its SHA-256
  // as sha256sum(1) computes it.
  auto mod = get_json(c.m, "/api/mod");
  auto zip_path = build_dir() + "/mod/" + mod["file"].get<std::string>();
  auto zip = slurp(zip_path);
  REQUIRE_FALSE(zip.empty());
  auto [rc, sum] = run("sha256sum " + zip_path, build_dir() + "/artifacts-sha256.txt");
  REQUIRE(rc == 0);
  CHECK(mod["sha256"] == sum.substr(0, 64));
  CHECK(mod["size"] == zip.size());
  CHECK(mod["version"] == mod["file"].get<std::string>().substr(10, mod["file"].get<std::string>().size() - 14));
  auto download = get(c.m, mod["url"].get<std::string>());
  REQUIRE(download);
  CHECK(download->status == 200);
  CHECK(download->get_header_value("Content-Type") == "application/zip");
  CHECK(download->body == zip);
  CHECK(get(c.m, "/mod/clusterio_0.0.1.zip")->status == 404);
  CHECK(get(c.m, "/api/audit")->status == 401); // admin only (tests/slave/commands_test.cpp reads it)

  CHECK(get(c.m, "/api/stats?minutes=abc")->status == 400);
  CHECK(get(c.m, "/api/stats?minutes=0")->status == 400);
  CHECK(get(c.m, "/package.json")->status == 404);
  CHECK(get(c.m, "/../master.db")->status != 200);

  // Read-only: anything else needs the admin token.
  httplib::Client http("127.0.0.1", c.m.http_port());
  CHECK(http.Post("/api/instances", "{}", "application/json")->status == 401);
  auto token = slurp(c.m.data_dir() + "/admin.token");
  REQUIRE(token.size() >= 64);
  token = token.substr(0, 64);
  CHECK(http.Post("/api/instances", {{"Authorization", "Bearer " + token}}, "{}", "application/json")->status == 405);
  CHECK(http.Post("/api/instances", {{"Authorization", "Bearer " + std::string(64, '0')}}, "{}", "application/json")->status == 401);

  auto page = get(c.m, "/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(get(c.m, "/vendor/uPlot.iife.min.js")->status == 200);
}

TEST_CASE("a request body over 64 KiB gets 413, whatever the method, the path and the token") {
  master_fixture m;
  m.start();
  auto token = slurp(m.data_dir() + "/admin.token").substr(0, 64);
  const httplib::Headers admin{{"Authorization", "Bearer " + token}};
  const std::string limit(64 * 1024, 'x'), over = limit + "x";
  httplib::Client http("127.0.0.1", m.http_port());
  auto status = [&](const char* method, const char* path, const httplib::Headers& headers, const std::string& body) {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = headers;
    req.body = body;
    req.set_header("Content-Type", "application/octet-stream");
    auto res = http.send(req);
    return res ? res->status : -1;
  };
  for (auto method : {"POST", "PUT", "PATCH", "DELETE", "GET", "OPTIONS"})
    for (auto path : {"/api/instances", "/nowhere", "/"})
      for (auto& headers : {httplib::Headers{}, admin}) {
        INFO(method << " " << path << (headers.empty() ? "" : " with the token"));
        CHECK(status(method, path, headers, over) == 413);
      }
  // At the limit, the body is not what is refused.
  CHECK(status("POST", "/api/instances", {}, limit) == 401);
  CHECK(status("POST", "/api/instances", admin, limit) == 405);
  CHECK(status("GET", "/api/health", {}, limit) == 200);
  // The server reads the next request on the connection as a request, not the refused body.
  CHECK(status("GET", "/api/health", {}, "") == 200);
}

TEST_CASE("/api/instances comes in pages, and the page follows them to show every instance") {
  master_fixture m(false, "\"durability\":\"process\"");
  m.start();
  // 501 instances: one more than a page holds by default.
  for (auto [slave, count] : {std::pair{"slave1", 200}, {"slave2", 200}, {"slave3", 101}}) {
    wire_client c(m.control_endpoint(), m.add_client(slave, "slave"));
    for (int i = 0; i < count; ++i)
      expect_reply<wire::registered>(c, wire::register_instance{std::string(slave) + "-world-" + std::to_string(i), ""});
  }
  auto first = get_json(m, "/api/instances");
  CHECK(first["instances"].size() == 500);
  CHECK(first["instances"][0]["instance_id"] == 1);
  CHECK(first["slaves"].size() == 3);
  CHECK(first["next"] == 500);
  auto last = get_json(m, "/api/instances?offset=500");
  REQUIRE(last["instances"].size() == 1);
  CHECK(last["instances"][0]["instance_id"] == 501);
  CHECK(last["slaves"].empty());
  CHECK_FALSE(last.contains("next"));
  // A smaller page, on both lists at once.
  auto small = get_json(m, "/api/instances?offset=2&limit=2");
  REQUIRE(small["instances"].size() == 2);
  CHECK(small["instances"][0]["instance_id"] == 3);
  REQUIRE(small["slaves"].size() == 1);
  CHECK(small["slaves"][0]["name"] == "slave3");
  CHECK(small["next"] == 4);
  for (auto* bad : {"limit=0", "limit=501", "offset=-1", "offset=x"}) {
    INFO(bad);
    CHECK(get(m, std::string("/api/instances?") + bad)->status == 400);
  }

  auto dom = dump_dom(m.http_url() + "/", 15000);
  CHECK(dom.find("data-instance-id=\"1\"") != std::string::npos);
  CHECK(dom.find(">slave3-world-100<") != std::string::npos);
  CHECK(dom.find(" of 501 instances online") != std::string::npos);
  // Nothing was exported yet, and no heartbeat came: each graph says so rather than staying empty.
  for (auto chart : {"chart-total", "chart-exports", "chart-imports", "chart-ups"})
    CHECK(dom.find(std::string("<div id=\"") + chart + "\" class=\"chart\"><p class=\"empty muted\">No data yet in this range.</p></div>") !=
          std::string::npos);
}

TEST_CASE("statistics survive a restart of the master") {
  cluster c;
  c.m.stop();
  c.m.start();
  auto stats = get_json(c.m, "/api/stats?minutes=10&item=water");
  REQUIRE(stats["points"].size() == 1);
  CHECK(stats["points"][0]["exported"] == 2500);
  CHECK(get_json(c.m, "/api/ups?minutes=10")["points"].size() == 2); // written at shutdown
}

namespace {

/// A counter's value on /metrics (a line "NAME VALUE").
std::uint64_t counter_of(master_fixture& m, const std::string& name) {
  auto r = get(m, "/metrics");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  std::smatch found;
  REQUIRE(std::regex_search(r->body, found, std::regex("\n" + name + " ([0-9]+)\n")));
  return std::stoull(found[1]);
}

/// How many transactions ten exports cost, sent as frames of their own 4 ms apart (a trickle:
/// without gathering, each would be handed over, and committed, alone).
std::uint64_t commits_for_trickle(const std::string& gather_us) {
  master_fixture m(false, "\"durability\":\"process\",\"commit_gather_us\":" + gather_us);
  m.start();
  wire_client slave(m.control_endpoint(), m.add_client("slave1", "slave"));
  auto id = expect_reply<wire::registered>(slave, wire::register_instance{"world", "192.0.2.10:34197"}).instance_id;
  auto before = counter_of(m, "clusterio_storage_commits_total");
  std::set<std::uint64_t> ids;
  for (std::uint64_t b = 1; b <= 10; ++b) {
    slave.send_raw(wire::encode({100 + b, wire::export_batch{id, b, 1, {{"iron-plate", 1}}}}));
    ids.insert(100 + b);
    std::this_thread::sleep_for(std::chrono::milliseconds(4));
  }
  int batch_frames = 0;
  for (auto& [rid, reply] : replies_to(slave, ids, batch_frames)) {
    INFO("reply to " << rid);
    REQUIRE(reply.ok);
    CHECK(std::holds_alternative<wire::export_ack>(reply.value.body));
  }
  CHECK(stock_of(slave, "iron-plate") == 10);
  return counter_of(m, "clusterio_storage_commits_total") - before;
}

} // namespace

TEST_CASE("messages that trickle in share one transaction (commit_gather_us); every one is answered") {
  // Off: every export its own transaction (a few may share one if the machine stalls).
  CHECK(commits_for_trickle("0") >= 6);
  // A 20 ms window: the first export goes alone (nothing came before it), the next ones share
  // a window each.
  CHECK(commits_for_trickle("20000") <= 4);
}

TEST_CASE("/metrics passes promtool check metrics and counts what happened") {
  cluster c;
  expect_reply<wire::grant_reply>(*c.slave, wire::request_items{c.south, {{"iron-plate", 30}}});
  // Two frames on channel "rail", the second a repeat of the first's seq (refused by the bus).
  for (int i = 0; i < 2; ++i)
    expect_reply<wire::ok>(*c.slave, wire::signal_frame{"rail", "north", 7, {{"signal-A", 5}}});
  // A frame longer than a source's frame may be: refused, and counted by the bound it broke.
  wire::signal_list long_names;
  for (int i = 0; i < 2000; ++i)
    long_names.push_back({std::to_string(i) + std::string(190, 'x'), 1});
  expect_error(*c.slave, wire::signal_frame{"rail", "west", 1, long_names}, wire::error_code::invalid);
  // One batch frame of two messages: one batch frame, each message counted by its type.
  c.slave->send_raw(batch_frame({{901, wire::resync{c.north}}, {902, wire::resync{c.north}}}));
  int batch_replies = 0;
  replies_to(*c.slave, {901, 902}, batch_replies);
  // The bus answers a frame once it has counted it, so /metrics shows every frame answered.
  auto r = get(c.m, "/metrics");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->get_header_value("Content-Type").find("text/plain; version=0.0.4") == 0);
  auto work = temp_dir("clusterio-metrics");
  {
    std::ofstream f(work + "/metrics.txt");
    f << r->body;
  }
  REQUIRE(std::system("command -v promtool >/dev/null") == 0); // Debian's prometheus package (scripts/setup)
  auto [rc, out] = run("promtool check metrics <" + work + "/metrics.txt", work + "/promtool.txt");
  INFO("promtool: " << out << slurp(work + "/promtool.txt.err") << "\nmetrics:\n" << r->body);
  CHECK(rc == 0);
  CHECK(slurp(work + "/promtool.txt.err").empty()); // lint findings go to stderr
  auto& body = r->body;
  CHECK(body.find("clusterio_instances_online 2\n") != std::string::npos);
  CHECK(body.find("clusterio_instance_updates_per_second{instance_id=\"" + std::to_string(c.north) +
                  "\",instance_name=\"north-world\",slave=\"slave1\"} 59.5\n") != std::string::npos);
  auto north_labels = "{instance_id=\"" + std::to_string(c.north) + "\",instance_name=\"north-world\",slave=\"slave1\"} ";
  auto south_labels = "{instance_id=\"" + std::to_string(c.south) + "\",instance_name=\"south-world\",slave=\"slave1\"} ";
  CHECK(body.find("clusterio_instance_items_held_back" + north_labels + "9\n") != std::string::npos);
  CHECK(body.find("clusterio_instance_items_held_back" + south_labels + "0\n") != std::string::npos);
  CHECK(body.find("clusterio_instance_signals_not_shown" + north_labels + "5\n") != std::string::npos);
  CHECK(body.find("clusterio_storage_items{item=\"iron-plate\",quality=\"normal\"} 70\n") != std::string::npos);
  CHECK(body.find("clusterio_storage_items{item=\"iron-plate\",quality=\"rare\"} 7\n") != std::string::npos);
  CHECK(body.find("clusterio_storage_items{item=\"<script>alert(1)</script>\",quality=\"normal\"} 3\n") != std::string::npos);
  CHECK(body.find("clusterio_exported_items_total 2610\n") != std::string::npos);
  CHECK(body.find("clusterio_granted_items_total 30\n") != std::string::npos);
  CHECK(body.find("clusterio_grants_total 1\n") != std::string::npos);
  CHECK(body.find("clusterio_messages_received_total{type=\"heartbeat\"} 2\n") != std::string::npos);
  CHECK(body.find("clusterio_messages_received_total{type=\"resync\"} 2\n") != std::string::npos);
  CHECK(body.find("clusterio_batch_frames_total 1\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_frames_total 3\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_refused_total{bound=\"max_signal_frame_bytes\"} 1\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_refused_total{bound=\"max_signal_bytes\"} 0\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_kept_bytes ") != std::string::npos);
  CHECK(body.find("clusterio_signal_channel_frames_total{channel=\"rail\"} 1\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_channel_dropped_total{channel=\"rail\"} 1\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_channel_sources{channel=\"rail\"} 1\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_channel_sums_total{channel=\"rail\"} 1\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_channel_sum_signals{channel=\"rail\"} 1\n") != std::string::npos);
  CHECK(body.find("clusterio_signal_refused_total{bound=\"max_sum\"} 0\n") != std::string::npos);
}

TEST_CASE("a headless Chromium shows both instances, their UPS and a changing storage count") {
  cluster c;
  auto work = build_dir() + "/artifacts";
  std::system(("mkdir -p " + work).c_str());
  auto url = c.m.http_url() + "/";

  auto dom = dump_dom(url);
  INFO("DOM:\n" << dom);
  CHECK(dom.find(">north-world<") != std::string::npos);
  CHECK(dom.find(">south-world<") != std::string::npos);
  CHECK(dom.find("<span class=\"ups\">59.5</span>") != std::string::npos);
  CHECK(dom.find("<span class=\"ups\">42</span>") != std::string::npos);
  CHECK(dom.find("192.0.2.10:34197") != std::string::npos);
  CHECK(row_count(dom, "iron-plate") == "100");
  CHECK(quality_row_count(dom, "iron-plate", "rare") == "7");
  CHECK(row_count(dom, "water") == "2,500");
  // The hostile item name is text in a table cell, not an element.
  CHECK(row_count(dom, "&lt;script&gt;alert(1)&lt;/script&gt;") == "3");
  CHECK(dom.find("<script>alert(1)</script></td>") == std::string::npos);
  // What north-world holds back, with the breakdown; south-world holds back nothing and says nothing.
  CHECK(dom.find("<p class=\"held-items\">9 items held back in put-chests</p>") != std::string::npos);
  CHECK(dom.find("<li data-item=\"modular-armor\" data-quality=\"normal\">2 × modular-armor</li>") != std::string::npos);
  CHECK(dom.find("<li data-item=\"steel-chest\" data-quality=\"rare\">1 × steel-chest<span class=\"badge quality\">rare</span></li>") !=
        std::string::npos);
  CHECK(dom.find(">1 × &lt;script&gt;alert(1)&lt;/script&gt;</li>") != std::string::npos);
  CHECK(dom.find("<li class=\"muted\">and 5 more</li>") != std::string::npos);
  CHECK(dom.find("<p class=\"signals-not-shown\">5 signals not shown (no room in combinators)</p>") != std::string::npos);
  CHECK(dom.find("<div class=\"held-back\" hidden=\"\"></div>") != std::string::npos);
  // uPlot drew the charts (canvas elements inside the chart containers).
  CHECK(dom.find("class=\"uplot") != std::string::npos);
  // How a player joins: the master's mod zip, then the address.
  CHECK(dom.find("Download the mod: <a href=\"/mod/clusterio_") != std::string::npos);
  CHECK(dom.find("<li>Join <span class=\"address\">192.0.2.10:34197</span></li>") != std::string::npos);

  c.exported(c.north, {{"iron-plate", 50}});
  c.heartbeat(c.south, 30.5, 2);
  c.heartbeat(c.north, 59.5, 7); // taken out of the chests
  dom = dump_dom(url);
  CHECK(row_count(dom, "iron-plate") == "150");
  CHECK(dom.find("<span class=\"ups\">30.5</span>") != std::string::npos);
  CHECK(dom.find("items held back") == std::string::npos);

  screenshot(url, work + "/webui.png", "1280,1600");
  screenshot(url, work + "/webui-phone.png", "390,1400");
}

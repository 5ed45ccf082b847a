// The page in a headless Chromium, served by a master with two real factorio-sim worlds (a
// producer and a consumer, each behind its own slave): both instances with their UPS, and a
// storage row whose count changes. And a world whose put-chest holds items with state: the mod
// keeps them, its slave reports them, and the master shows them held back.

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/slave/cluster.hpp"
#include "tests/webui/browser.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {
/// The UPS the page shows on the instance card named `name`, or -1.
double ups_shown(const std::string& dom, const std::string& name) {
  auto at = dom.find(">" + name + "<");
  if (at == std::string::npos)
    return -1;
  std::smatch m;
  std::string rest = dom.substr(at, 3000);
  if (std::regex_search(rest, m, std::regex("<span class=\"ups\">([0-9.]+)</span>")))
    return std::stod(m[1]);
  return -1;
}

long count_shown(const std::string& dom, const std::string& name) {
  auto text = row_count(dom, name);
  text.erase(std::remove(text.begin(), text.end(), ','), text.end());
  return text.empty() ? -1 : std::stol(text);
}
} // namespace

TEST_CASE("a headless Chromium shows two factorio-sim worlds, their UPS and a storage count that changes") {
  cluster c;
  // The consumer stops using plates; once its chests are full, the storage fills up.
  c.slave_of("consumer").lua("consumer", "storage.halt = true rcon.print('ok')");
  c.wait_for_flow(800);
  std::this_thread::sleep_for(3s); // a few heartbeats with UPS
  auto work = build_dir() + "/artifacts";
  std::system(("mkdir -p " + work).c_str());
  auto url = c.master.http_url() + "/";

  auto dom = dump_dom(url);
  INFO("DOM:\n" << dom);
  CHECK(ups_shown(dom, "producer") > 50);
  CHECK(ups_shown(dom, "consumer") > 50);
  auto first = count_shown(dom, "iron-plate");
  CHECK(first >= 0);
  std::this_thread::sleep_for(3s);
  dom = dump_dom(url);
  CHECK(count_shown(dom, "iron-plate") > first); // the producer's plates keep arriving
  screenshot(url, work + "/webui-worlds.png", "1280,1600");
}

TEST_CASE("an armor with equipment and a damaged item stay in the put-chest and show as held back on /api, /metrics and the page") {
  auto dir = temp_dir("clusterio-held-back");
  auto scenario = dir + "/keeper.lua";
  std::ofstream(scenario) << R"(script.on_init(function()
  local chest = game.surfaces[1].create_entity({name = "put-chest", position = {0, 0}, force = "player", raise_built = true})
  local inv = chest.get_inventory(defines.inventory.chest)
  inv.insert({name = "iron-plate", count = 5})
  inv.insert({name = "steel-chest", count = 2, health = 0.5})
  inv.insert({name = "modular-armor"})
  for i = 1, #inv do
    if inv[i].valid_for_read and inv[i].name == "modular-armor" then inv[i].create_grid().put({name = "solar-panel-equipment"}) end
  end
end))";
  cluster c(1, {{"keeper", scenario, 0}});
  INFO("logs: " << c.log_locations());
  httplib::Client http("127.0.0.1", c.master.http_port());
  nlohmann::json held;
  CHECK(eventually([&] {
    auto r = http.Get("/api/instances");
    if (!r || r->status != 200)
      return false;
    auto body = nlohmann::json::parse(r->body);
    if (body["instances"].empty())
      return false;
    held = body["instances"][0]["held_back"];
    return held["items_total"] == 3;
  }));
  INFO("held_back: " << held.dump());
  CHECK(held["items"] == nlohmann::json::parse(R"([{"name":"steel-chest","quality":"normal","count":2},
    {"name":"modular-armor","quality":"normal","count":1}])"));
  CHECK(held["signals_not_shown"] == 0);

  auto metrics = http.Get("/metrics");
  REQUIRE(metrics);
  std::smatch m;
  CHECK(std::regex_search(metrics->body, m, std::regex("\nclusterio_instance_items_held_back\\{[^}]*instance_name=\"keeper\"[^}]*\\} 3\n")));

  // Still in the chest, as they were; the plates left for storage.
  auto in_chest = [&](const std::string& test) {
    return c.slave_of("keeper").lua("keeper", "local inv = game.surfaces[1].find_entities_filtered{name = 'put-chest'}[1]"
                                              ".get_inventory(defines.inventory.chest) local n = 0 for i = 1, #inv do "
                                              "local s = inv[i] if s.valid_for_read and " + test + " then n = n + s.count end end rcon.print(n)");
  };
  CHECK(in_chest("s.name == 'modular-armor' and s.grid and s.grid.count() == 1") == "1");
  CHECK(in_chest("s.name == 'steel-chest' and s.health == 0.5") == "2");
  CHECK(in_chest("s.name == 'iron-plate'") == "0");

  auto dom = dump_dom(c.master.http_url() + "/");
  INFO("DOM:\n" << dom);
  CHECK(dom.find("<p class=\"held-items\">3 items held back in put-chests</p>") != std::string::npos);
  CHECK(dom.find(">1 × modular-armor</li>") != std::string::npos);
}

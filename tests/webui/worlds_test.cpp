// The page in a headless Chromium, served by a master with two real factorio-sim worlds (a
// producer and a consumer, each behind its own slave): both instances with their UPS, and a
// storage row whose count changes.

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

  auto dom = dump_dom(url, work);
  INFO("DOM:\n" << dom);
  CHECK(ups_shown(dom, "producer") > 50);
  CHECK(ups_shown(dom, "consumer") > 50);
  auto first = count_shown(dom, "iron-plate");
  CHECK(first >= 0);
  std::this_thread::sleep_for(3s);
  dom = dump_dom(url, work);
  CHECK(count_shown(dom, "iron-plate") > first); // the producer's plates keep arriving
  screenshot(url, work + "/webui-worlds.png", "1280,1600");
}

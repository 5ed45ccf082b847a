// e2e-latency: the time from an item entering a put-chest in world A to its arrival in a
// get-chest in world B, through a real master (CURVE) and two real slaves driving factorio-sim
// at 60 UPS. Units are inserted one at a time at known wall times; arrivals are matched first in,
// first out. Prints one JSON line.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/support/master_fixture.hpp"
#include "tests/support/slave_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono;

namespace {
double now_s() { return duration<double>(steady_clock::now().time_since_epoch()).count(); }
constexpr const char* item = "iron-gear-wheel";
} // namespace

int main(int argc, char** argv) {
  int transfers = argc > 1 ? std::atoi(argv[1]) : 1000;
  double per_second = argc > 2 ? std::atof(argv[2]) : 20;

  master_fixture master(false, "\"log_level\":\"warn\"");
  master.start();
  slave_fixture a("bench-a", master, master.add_client("bench-a", "slave"));
  slave_fixture b("bench-b", master, master.add_client("bench-b", "slave"));
  a.create("source", "");
  b.create("sink", "");
  a.start("source");
  b.start("sink");
  a.wait_running("source");
  b.wait_running("sink");
  a.lua("source", "storage.chest = game.surfaces[1].create_entity{name = 'put-chest', position = {0, 0}, force = 'player', "
                  "raise_built = true} rcon.print('ok')");
  b.lua("sink", std::string("local c = game.surfaces[1].create_entity{name = 'get-chest', position = {0, 0}, force = 'player', "
                            "raise_built = true} c.get_logistic_sections().get_section(1).set_slot(1, {value = '") +
                  item + "', min = 1000000}) storage.chest = c rcon.print('ok')");
  auto arrived_count = [&] {
    auto j = nlohmann::json::parse(b.lua("sink", std::string("rcon.print(helpers.table_to_json({n = storage.chest.get_inventory("
                                                             "defines.inventory.chest).get_item_count('") + item + "')}))"));
    auto st = b.mod("sink", "status");
    long buffered = st["buffered"].is_object() ? st["buffered"].value(item, 0L) : 0L;
    return j["n"].get<long>() + buffered;
  };

  std::vector<double> sent_at, arrived_at;
  std::mutex mu;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    long seen = 0;
    while (!done) {
      long n = arrived_count();
      auto t = now_s();
      std::lock_guard<std::mutex> lock(mu);
      for (; seen < n; ++seen)
        arrived_at.push_back(t);
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  std::cerr << "e2e-latency: " << transfers << " transfers at " << per_second << "/s...\n";
  for (int i = 0; i < transfers; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      sent_at.push_back(now_s());
    }
    a.lua("source", std::string("storage.chest.get_inventory(defines.inventory.chest).insert{name = '") + item + "', count = 1}");
    std::this_thread::sleep_until(steady_clock::now() + duration<double>(1.0 / per_second));
  }
  // Let the last ones arrive (bounded).
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (arrived_at.size() >= sent_at.size())
        break;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::this_thread::sleep_for(seconds(2)); // and catch any duplicate
  done = true;
  watcher.join();
  std::vector<double> lat;
  for (std::size_t i = 0; i < std::min(sent_at.size(), arrived_at.size()); ++i)
    lat.push_back(arrived_at[i] - sent_at[i]);
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<std::size_t>(p * static_cast<double>(lat.size())))]; };
  long lost = static_cast<long>(sent_at.size()) - static_cast<long>(arrived_at.size());
  std::printf("{\"bench\":\"e2e-latency\",\"transfers\":%zu,\"p50_s\":%.3f,\"p99_s\":%.3f,\"lost\":%ld,\"duplicated\":%ld}\n", sent_at.size(),
              pct(0.5), pct(0.99), std::max(0L, lost), std::max(0L, -lost));
  a.stop("source");
  b.stop("sink");
  master.stop();
  return 0;
}

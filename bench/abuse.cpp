// abuse: every attack of a hostile client on the cluster, each bounded in count, bytes and time,
// against a real master (CURVE) with two real slaves whose factorio-sim worlds run the real mod
// and move items all along (tests/support/cluster.hpp: a producer on slave 0, a consumer on
// slave 1). The attackers hold the lowest credential each attack needs: a subscriber, a
// publisher, a slave credential of their own (never the real slaves'), or none (HTTP); they use
// only the wire protocol (docs/protocol.md) and HTTP (tests/support/hostile.hpp).
//
// 1. bus subscriptions: many long ones, then many valid and made-up ones
// 2. big exports: names of 200 bytes until storage refuses, then the full inventory asked for
// 3. instances: many registrations with long game addresses, valid and not
// 4. HTTP: a header flood, slow headers, idle connections, a body over 64 KiB
// 5. inventory subscriptions: every one may make the master send a full snapshot to all
// 6. signals: frames of ~800 KB on a channel no world listens to, then many sources
// 7. the log: bad frames and unknown CURVE keys
// 8. a signal `source` too long for the bus, `seq` 2^64-1
// 9. clients that do not read: bus connections on a busy channel, control connections asking
//    for the inventory thousands of times
//
// usage: abuse [--only 1,3,...]   (the attacks to run, by number; default all nine)
//
// Meanwhile, every 100 ms, the resident memory of the master and of each slave process is read
// from /proc, and the page's data is fetched the way the page does (GET /api/instances and /,
// alternately, a new connection each, anonymous). Afterwards every slave must still be on the
// bus: copper plates exported by the attackers' slave must show, at their new level, in the
// inventory combinator of each of its worlds within 60 s (levels reach a world only through its
// slave's bus connection). Then the worlds stop, and once nothing is in flight every iron plate
// and unit of water made must be in a chest, a tank, a buffer, an export batch, the master's
// storage or used (the ledger of tests/support/cluster.hpp). Prints a line per attack (its
// effect, and the peaks and page latency while it ran and 3 s after), then one JSON line:
//   {"bench":"abuse","attacks":<kinds run>,"master_peak_rss_mb":..,"slave_peak_rss_mb":..,
//    "bus_connected_slaves_after":..,"page_p99_ms":..,"transfers_lost":..,"transfers_duplicated":..}
// Peaks are VmHWM (the highest VmRSS since the process started). page_p99_ms is over the
// requests from the first attack to the end of the last, on a timetable of one every 100 ms: a
// request that takes T counts with the T/100 ms that would have been sent meanwhile (each
// waiting that much less), and one that fails counts as the time it took to fail (at most 10 s).
// The ledger's figures are null if the worlds could not be read. Targets: peaks ≤ 200 MB,
// every slave on the bus, p99 ≤ 500 ms, nothing lost or duplicated. The exit status is 0
// whatever the figures.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "common/clock.hpp"
#include "messages/inventory_parts.hpp"
#include "messages/limits.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/hostile.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {

constexpr auto sample_every = 100ms;
constexpr auto page_timeout = 10s;
constexpr auto hold_after_attack = 3s;
/// How long a level changed in storage may take to reach the worlds.
constexpr auto probe_timeout = 60s;

double mb(std::size_t bytes) { return static_cast<double>(bytes) / 1e6; }
/// `v` with `decimals` digits after the point.
std::string fixed(double v, int decimals = 1) {
  char s[64];
  std::snprintf(s, sizeof s, "%.*f", decimals, v);
  return s;
}

/// The master's and slaves' memory and the page's latency, sampled in the background.
class watch {
public:
  explicit watch(cluster& c) : c_(c) {
    for (auto& s : c.slaves)
      slave_pids_.push_back(s->service_pid());
    threads_.emplace_back([this] { sample_memory(); });
    threads_.emplace_back([this] { poll_page(); });
  }
  ~watch() {
    stop_ = true;
    for (auto& t : threads_)
      t.join();
  }

  struct figures {
    double master_rss_mb = 0, slave_rss_mb = 0; ///< the highest VmRSS sampled
    double page_p99_ms = 0, page_max_ms = 0;
    std::size_t samples = 0, failed = 0;
  };
  /// What was sampled from `from` to `to` (mono_ms).
  figures between(std::uint64_t from, std::uint64_t to) {
    std::lock_guard lock(mutex_);
    figures f;
    for (auto& s : memory_)
      if (s.at >= from && s.at <= to) {
        f.master_rss_mb = std::max(f.master_rss_mb, s.master);
        f.slave_rss_mb = std::max(f.slave_rss_mb, s.slave);
      }
    std::vector<double> latencies;
    for (auto& h : page_)
      if (h.at >= from && h.at <= to) {
        latencies.push_back(h.ms);
        f.failed += !h.ok;
      }
    f.samples = latencies.size();
    if (!latencies.empty()) {
      std::sort(latencies.begin(), latencies.end());
      auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(latencies.size())));
      f.page_p99_ms = latencies[std::max<std::size_t>(rank, 1) - 1];
      f.page_max_ms = latencies.back();
    }
    return f;
  }
  /// The highest VmRSS of the master and of any slave since they started (VmHWM), or sampled.
  std::pair<double, double> peaks() {
    auto f = between(0, UINT64_MAX);
    double slave = f.slave_rss_mb;
    for (auto pid : slave_pids_)
      slave = std::max(slave, peak_resident_mib(pid));
    return {std::max(f.master_rss_mb, peak_resident_mib(c_.master.pid())), slave};
  }
  double slave_cpu_s() const {
    double s = 0;
    for (auto pid : slave_pids_)
      s += cpu_seconds(pid);
    return s;
  }

private:
  struct memory_sample {
    std::uint64_t at;
    double master, slave;
  };
  struct page_hit {
    std::uint64_t at;
    double ms;
    bool ok;
  };

  void sample_memory() {
    while (!stop_) {
      memory_sample s{mono_ms(), resident_mib(c_.master.pid()), 0};
      for (auto pid : slave_pids_)
        s.slave = std::max(s.slave, resident_mib(pid));
      {
        std::lock_guard lock(mutex_);
        memory_.push_back(s);
      }
      std::this_thread::sleep_for(sample_every);
    }
  }
  void poll_page() {
    for (int i = 0; !stop_; ++i) {
      auto start = mono_ms();
      // A new connection each time: a browser's kept-alive one would hold a worker of its own.
      httplib::Client http("127.0.0.1", c_.master.http_port());
      http.set_connection_timeout(page_timeout);
      http.set_read_timeout(page_timeout);
      auto res = http.Get(i % 2 ? "/" : "/api/instances");
      auto took = mono_ms() - start;
      auto every = static_cast<std::uint64_t>(sample_every.count());
      bool ok = res && res->status == 200;
      {
        std::lock_guard lock(mutex_);
        page_.push_back({start, static_cast<double>(took), ok});
        // The requests a timetable of one every 100 ms would have sent while this one waited,
        // each waiting at least until it was answered: without them a stalled server would
        // count once per stall, a fast one ten times a second (coordinated omission).
        for (auto k = every; k < took; k += every)
          page_.push_back({start + k, static_cast<double>(took - k), ok});
      }
      if (took < every)
        std::this_thread::sleep_for(std::chrono::milliseconds(every - took));
    }
  }

  cluster& c_;
  std::vector<pid_t> slave_pids_;
  std::mutex mutex_;
  std::vector<memory_sample> memory_;
  std::vector<page_hit> page_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

/// "ok", "invalid (source)", "no reply", ...: how the master answered.
std::string answer(const std::optional<wire::frame>& r) {
  if (!r)
    return "no reply";
  if (auto* e = std::get_if<wire::error_reply>(&r->body))
    return std::string(wire::to_string(e->code)) + (e->field.empty() ? "" : " (" + e->field + ")");
  return std::holds_alternative<wire::ok>(r->body) ? "ok" : "another reply";
}

/// How many of the replies answered each way, e.g. "198 registered, 1802 overloaded (name)".
std::string tally(const std::vector<std::optional<wire::frame>>& replies, const std::string& success_word) {
  std::map<std::string, std::size_t> n;
  for (auto& r : replies) {
    auto a = answer(r);
    n[a == "another reply" ? success_word : a]++;
  }
  std::string out;
  for (auto& [what, count] : n)
    out += (out.empty() ? "" : ", ") + std::to_string(count) + " " + what;
  return out;
}

/// Frames a subscriber receives in `window`: a subscriber the master has shut out gets none.
std::size_t frames_received(bus_subscriber& sub, std::chrono::milliseconds window) {
  std::size_t n = 0;
  for (auto until = mono_ms() + static_cast<std::uint64_t>(window.count()); mono_ms() < until;)
    n += sub.recv(std::chrono::milliseconds(until - std::min(until, mono_ms()))).has_value();
  return n;
}

/// The cluster and the attackers' own credentials and connections.
struct bench {
  cluster c;
  std::unique_ptr<watch> w;
  std::unique_ptr<wire_client> rogue; ///< with a slave credential of the attackers' own
  std::uint64_t exports_instance = 0, probe_instance = 0, probe_batch = 0;
  std::int64_t probe_level = 0;
  std::uint64_t attacks_from = 0, attacks_to = 0;

  bench() {
    std::cerr << "abuse: cluster up; logs: " << c.log_locations() << "\n";
    rogue = std::make_unique<wire_client>(c.master.control_endpoint(), c.master.add_client("rogue", "slave"));
    exports_instance = registered("rogue-exports");
    probe_instance = registered("rogue-probe");
    // The levels a world's mod holds show only in its inventory combinators' output.
    for (auto& world : c.worlds)
      c.slave_of(world.name).lua(world.name, "storage.probe = game.surfaces[1].create_entity{name = 'inventory-combinator', "
                                             "position = {20, 20}, force = 'player', raise_built = true} rcon.print('ok')");
    w = std::make_unique<watch>(c);
  }
  std::uint64_t registered(const std::string& name) {
    auto r = rogue->call(wire::register_instance{name, ""});
    if (!r || !std::holds_alternative<wire::registered>(r->body))
      throw std::runtime_error("the master did not register " + name + ": " + answer(r));
    return std::get<wire::registered>(r->body).instance_id;
  }

  std::string control() const { return c.master.control_endpoint(); }
  std::string bus() const { return c.master.bus_endpoint(); }
  credential client(const std::string& name, const std::string& role) { return c.master.add_client(name, role); }

  /// Runs one attack, holds 3 s for its after-effects, and prints what it did with what was
  /// sampled meanwhile.
  void attack(const std::string& label, const std::function<std::string()>& run) {
    auto from = mono_ms();
    if (attacks_from == 0)
      attacks_from = from;
    std::string effect;
    try {
      effect = run();
    } catch (const std::exception& e) {
      effect = std::string("the attack itself failed: ") + e.what();
    }
    std::this_thread::sleep_for(hold_after_attack);
    attacks_to = mono_ms();
    report(label, effect, from, attacks_to);
  }
  void report(const std::string& label, const std::string& effect, std::uint64_t from, std::uint64_t to) {
    auto f = w->between(from, to);
    std::printf("%s: %s; master RSS peak %.1f MB, slaves %.1f MB; page p99 %.0f ms, max %.0f ms (%zu samples, %zu failed); %.1f s\n",
                label.c_str(), effect.c_str(), f.master_rss_mb, f.slave_rss_mb, f.page_p99_ms, f.page_max_ms, f.samples, f.failed,
                static_cast<double>(to - from) / 1000);
    std::fflush(stdout);
  }

  /// Whether the world's inventory combinator outputs `level` copper plates. A world too busy
  /// to answer over RCON does not.
  bool shows(const std::string& world, std::int64_t level) {
    try {
      return c.slave_of(world).lua(world, "local n = 0 "
                                          "for _, f in pairs(storage.probe.get_or_create_control_behavior().get_section(1).filters) do "
                                          "if f.value.name == 'copper-plate' then n = f.min end end rcon.print(n)") == std::to_string(level);
    } catch (const std::exception& e) {
      std::cerr << "abuse: " << world << ": " << e.what() << "\n";
      return false;
    }
  }

  /// Raises copper plates in storage by `units` (the rogue's own exports) and waits until every
  /// slave's worlds show the new level, for at most `timeout`: it reaches them only through each
  /// slave's bus connection (docs/protocol.md §1.2). Returns, per slave, the seconds it took,
  /// or a negative number if it did not come.
  std::vector<double> bus_delivery(std::int64_t units, std::chrono::seconds timeout) {
    std::vector<double> took(c.slaves.size(), -1);
    ++probe_batch;
    auto r = rogue->call(wire::export_batch{probe_instance, probe_batch, probe_batch, {{"copper-plate", units}}}, 10s);
    if (!r || !std::holds_alternative<wire::export_ack>(r->body)) {
      std::cerr << "abuse: the probe's export was not acknowledged: " << answer(r) << "\n";
      return took;
    }
    probe_level += units;
    auto t0 = mono_ms();
    eventually(
      [&] {
        for (std::size_t s = 0; s < c.slaves.size(); ++s) {
          if (took[s] >= 0)
            continue;
          bool all = true;
          for (auto& world : c.worlds)
            if (world.slave == s)
              all = all && shows(world.name, probe_level);
          if (all)
            took[s] = static_cast<double>(mono_ms() - t0) / 1000;
        }
        return std::none_of(took.begin(), took.end(), [](double t) { return t < 0; });
      },
      timeout, 500ms);
    return took;
  }
};

/// "2 of 2 slaves on the bus (slave-0 after 0.5 s, slave-1 after 0.7 s)".
std::string on_bus(const std::vector<double>& took, std::chrono::seconds timeout) {
  std::string each;
  for (std::size_t s = 0; s < took.size(); ++s)
    each += (s ? ", slave-" : "slave-") + std::to_string(s) +
            (took[s] >= 0 ? " after " + fixed(took[s]) + " s" : " not within " + std::to_string(timeout.count()) + " s");
  auto n = std::count_if(took.begin(), took.end(), [](double t) { return t >= 0; });
  return std::to_string(n) + " of " + std::to_string(took.size()) + " slaves on the bus (" + each + ")";
}

std::string bus_subscriptions(bench& b) {
  auto before = resident_mib(b.c.master.pid());
  // Distinct subscriptions of 4,000 bytes: unbounded, ZeroMQ keeps ~125 KiB each.
  auto long_key = b.client("sub-long", "subscriber");
  bus_subscriber longs(b.bus(), long_key, "inventory");
  subscribe_long_topics(longs, 2000, 4000);
  std::this_thread::sleep_for(5s);
  // Valid ones past any sane count over two connections, then made-up topics.
  auto many_key = b.client("sub-many", "subscriber");
  bus_subscriber first(b.bus(), many_key, "inventory"), second(b.bus(), many_key, "inventory");
  for (int i = 0; i < 600; ++i) {
    first.subscribe("signal/first-" + std::to_string(i));
    second.subscribe("signal/second-" + std::to_string(i));
  }
  for (int i = 0; i < 100; ++i)
    first.subscribe("made-up/" + std::to_string(i));
  std::this_thread::sleep_for(3s);
  auto after = resident_mib(b.c.master.pid());
  // Inventory levels change several times a second while items move: a subscriber still on
  // the bus receives some.
  frames_received(longs, 500ms); // what was queued before
  auto got_long = frames_received(longs, 2s);
  auto got_many = frames_received(first, 2s);
  char s[512];
  std::snprintf(s, sizeof s,
                "2000 subscriptions of 4000 B on one connection, then 1200 valid and 100 made-up on two of another client: master RSS "
                "%+.1f MB; in the next 2 s the first attacker received %zu bus frames, the second %zu",
                after - before, got_long, got_many);
  return s;
}

std::string big_exports(bench& b) {
  auto t0 = mono_ms();
  auto exported = export_long_names(*b.rogue, b.exports_instance, 1, 21);
  auto t1 = mono_ms();
  std::string refused = exported.refusals.empty() ? "" : " (first: " + exported.refusals.front().substr(0, exported.refusals.front().find(';')) + ")";
  // The full inventory, asked for by a subscriber and sent by the master to a new one.
  auto querier = b.client("querier", "subscriber");
  wire_client q(b.control(), querier);
  auto t2 = mono_ms();
  auto r = q.call(wire::inventory_query{}, 30s);
  auto t3 = mono_ms();
  std::string query = "no answer in 30 s";
  if (r && std::holds_alternative<wire::inventory_levels>(r->body))
    query = std::to_string(std::get<wire::inventory_levels>(r->body).levels.size()) + " levels, " +
            fixed(mb(wire::encode(*r).size())) + " MB, in " + std::to_string(t3 - t2) + " ms";
  else if (r)
    query = answer(r);
  bus_subscriber late(b.bus(), querier, "inventory");
  std::size_t most_levels = 0;
  auto full = next_full_inventory(late, 20s, &most_levels);
  std::string snapshot = full ? std::to_string(full->levels.size()) + " levels, at most " + std::to_string(most_levels) + " a message"
                              : "no full snapshot in 20 s";
  char s[1024];
  std::snprintf(s, sizeof s, "21 exports of 4096 names of 200 B from a slave credential in %.1f s: %zu names accepted, %zu exports refused%s; "
                "inventory_query: %s; a new subscriber's full snapshot: %s",
                static_cast<double>(t1 - t0) / 1000, exported.accepted, exported.refusals.size(), refused.c_str(), query.c_str(), snapshot.c_str());
  return s;
}

std::string instances(bench& b) {
  // A host of 255 bytes of the allowed characters: as long as game_address may be.
  const std::string valid = std::string(wire::max_host_bytes - 12, 'h') + ".example.org:34197";
  auto t0 = mono_ms();
  auto long_valid = call_pipelined(
    *b.rogue, 2000, [&](std::size_t i) { return wire::register_instance{"rogue-" + std::to_string(i), valid}; }, 100);
  auto invalid = call_pipelined(
    *b.rogue, 100, [&](std::size_t i) { return wire::register_instance{"rogue-bad-" + std::to_string(i), std::string(1024, 'x')}; }, 100);
  auto t1 = mono_ms();
  wire_client q(b.control(), b.c.creds.at(0));
  auto slaves = q.call(wire::slaves_query{}, 30s);
  std::string listing = "slaves_query: " + answer(slaves);
  if (slaves && std::holds_alternative<wire::slaves_reply>(slaves->body))
    listing = "slaves_query: " + std::to_string(std::get<wire::slaves_reply>(slaves->body).instances.size()) + " instances, " +
              fixed(mb(wire::encode(*slaves).size()), 2) + " MB";
  httplib::Client http("127.0.0.1", b.c.master.http_port());
  http.set_read_timeout(page_timeout);
  auto page = http.Get("/api/instances");
  listing += "; /api/instances: " + (page ? std::to_string(page->status) + ", " + fixed(mb(page->body.size()), 2) + " MB" : "no answer");
  return "2000 registrations with " + std::to_string(valid.size()) + "-byte game addresses: " + tally(long_valid, "registered") +
         "; 100 with 1024-byte ones: " + tally(invalid, "registered") + " (" + fixed(static_cast<double>(t1 - t0) / 1000) + " s); " + listing;
}

std::string header_flood(bench& b) {
  auto before = resident_mib(b.c.master.pid());
  auto got = http_header_flood(b.c.master.http_port(), 2, 100'000'000, 30s);
  auto after = resident_mib(b.c.master.pid());
  std::string out = "2 connections sending up to 100 MB of headers each (30 s at most):";
  for (auto& r : got)
    out += " " + fixed(mb(r.bytes_sent)) + " MB sent, " + (r.closed_by_server ? "closed by the server" : "not closed") +
           ", status " + (r.status ? std::to_string(r.status) : "none") + ";";
  char s[128];
  std::snprintf(s, sizeof s, " master RSS %+.1f MB after", after - before);
  return out + s;
}

std::string slow_headers(bench& b) {
  auto closed = http_slow_headers(b.c.master.http_port(), 8, 2s, 16s);
  return "8 connections sending one header line every 2 s for 16 s: " + std::to_string(closed) + " closed by the server";
}

std::string idle_connections(bench& b) {
  auto closed = http_idle_connections(b.c.master.http_port(), 16, 16s);
  return "16 connections idle for 16 s: " + std::to_string(closed) + " closed by the server";
}

std::string big_body(bench& b) {
  httplib::Client http("127.0.0.1", b.c.master.http_port());
  http.set_read_timeout(page_timeout);
  auto res = http.Post("/api/instances", std::string(100 * 1024, 'x'), "application/octet-stream");
  return "POST /api/instances with a body of 100 KiB, no token: " + (res ? "status " + std::to_string(res->status) : std::string("no answer"));
}

std::string inventory_subscriptions(bench& b) {
  auto key = b.client("amplifier", "subscriber");
  bus_subscriber watcher(b.bus(), b.client("inventory-watch", "subscriber"), "inventory");
  frames_received(watcher, 3s); // its own snapshot, before the attack
  const std::vector<std::string> prefixes{"i", "in", "inv", "inve", "inven", "invent", "invento", "inventor", "inventory"};
  auto cpu0 = b.w->slave_cpu_s();
  auto t0 = mono_ms();
  std::size_t snapshots = 0, levels = 0, bytes = 0, subscriptions = 0;
  wire::inventory_joiner joiner;
  for (int round = 0; round < 10; ++round) {
    std::vector<std::unique_ptr<bus_subscriber>> subs;
    for (int i = 0; i < 10; ++i) {
      subs.push_back(std::make_unique<bus_subscriber>(b.bus(), key, prefixes.back()));
      for (std::size_t p = 0; p + 1 < prefixes.size(); ++p)
        subs.back()->subscribe(prefixes[p]);
      subscriptions += prefixes.size();
    }
    for (auto until = mono_ms() + 1000; mono_ms() < until;) {
      auto m = watcher.recv(std::chrono::milliseconds(until - std::min(until, mono_ms())));
      auto* inv = m ? std::get_if<wire::inventory_levels>(&m->second.body) : nullptr;
      if (inv == nullptr || !inv->full)
        continue;
      bytes += wire::encode(m->second).size();
      if (auto whole = joiner.add(std::move(*inv))) {
        ++snapshots;
        levels = whole->levels.size();
      }
    }
  }
  auto seconds = static_cast<double>(mono_ms() - t0) / 1000;
  auto cpu = b.w->slave_cpu_s() - cpu0;
  char s[512];
  std::snprintf(s, sizeof s,
                "%zu inventory subscriptions (10 rounds of 10 connections, a second apart): another subscriber received %zu full "
                "snapshots (%zu levels, %.1f MB in all) in %.1f s; the slaves used %.1f s of CPU (%.0f %% of a core)",
                subscriptions, snapshots, levels, mb(bytes), seconds, cpu, cpu / seconds * 100);
  return s;
}

std::string signal_flood(bench& b) {
  wire_client pub(b.control(), b.client("signal-flood", "publisher"));
  // ~800 KB: 4,000 distinct signals of 200-byte names.
  wire::signal_list big;
  for (int i = 0; i < 4000; ++i)
    big.push_back({std::string(wire::max_name_bytes - 6, 's') + std::to_string(100000 + i), 1});
  auto frame_bytes = wire::encode({1, wire::signal_frame{"nobody-listens", "big-0", 1, big}}).size();
  auto before = resident_mib(b.c.master.pid());
  auto t0 = mono_ms();
  auto bigs = call_pipelined(
    pub, 200, [&](std::size_t i) { return wire::signal_frame{"nobody-listens", "big-" + std::to_string(i), 1, big}; }, 4, 60s);
  auto t1 = mono_ms();
  auto many = call_pipelined(
    pub, 10000, [&](std::size_t i) { return wire::signal_frame{"nobody-listens", "src-" + std::to_string(i), 1, {{"signal-A", 1, "virtual"}}}; },
    500);
  auto t2 = mono_ms();
  std::this_thread::sleep_for(5s); // the slaves and the master digest them
  auto after = resident_mib(b.c.master.pid());
  char s[768];
  std::snprintf(s, sizeof s,
                "200 frames of %.0f KB from distinct sources on a channel no world listens to (%.1f s): %s; then 10000 sources of one "
                "signal (%.1f s): %s; master RSS %+.1f MB 5 s later",
                static_cast<double>(frame_bytes) / 1e3, static_cast<double>(t1 - t0) / 1000, tally(bigs, "other").c_str(),
                static_cast<double>(t2 - t1) / 1000, tally(many, "other").c_str(), after - before);
  return s;
}

std::string log_flood(bench& b) {
  auto log = b.c.master.data_dir() + "/master.log";
  auto size0 = std::filesystem::file_size(log);
  auto noisy_cred = b.client("noisy", "subscriber");
  wire_client noisy(b.control(), noisy_cred);
  auto invalid = send_bad_frames(noisy, 20000);
  knock_with_unknown_keys(b.control(), noisy_cred, 40, 5s);
  std::this_thread::sleep_for(1s);
  auto text = slurp(log);
  auto added = text.size() > size0 ? text.substr(size0) : std::string();
  auto lines = std::count(added.begin(), added.end(), '\n');
  char s[512];
  std::snprintf(s, sizeof s,
                "20000 bad frames from a subscriber (%zu answered invalid), then 40 unknown CURVE keys knocking for 5 s: master.log "
                "grew by %td lines, %.2f MB (normal lines included)",
                invalid, lines, mb(added.size()));
  return s;
}

std::string unread(bench& b) {
  auto key = b.client("deaf", "subscriber");
  // A busy channel: a sum of 50 signals every 10 ms.
  std::atomic<bool> stop{false};
  std::thread publisher([&, cred = b.client("deaf-pub", "publisher")] { publish_busy_channel(b.control(), cred, "deaf", stop); });
  auto before = resident_mib(b.c.master.pid());
  auto ports = [&] { return tcp_connections_on({b.c.master.control_port(), b.c.master.bus_port()}); };
  auto at_start = ports();
  // The largest backlog in the master's sockets while the deaf clients hold on, and the last
  // before they let go.
  tcp_backlog most = at_start, late;
  auto t0 = mono_ms();
  std::thread sampler([&] {
    for (auto until = t0 + 45000; mono_ms() < until && !stop; std::this_thread::sleep_for(500ms)) {
      auto now = ports();
      most.connections = std::max(most.connections, now.connections);
      most.queued_bytes = std::max(most.queued_bytes, now.queued_bytes);
      if (mono_ms() < t0 + 39000)
        late = now;
    }
  });
  auto bus_deaf = std::async(std::launch::async, [&] { subscribe_without_reading(b.bus(), key, "signal/deaf", 20, 40s); });
  ask_without_reading(b.control(), key, wire::inventory_query{}, 20, 20000, 40s);
  bus_deaf.get();
  stop = true;
  publisher.join();
  sampler.join();
  std::this_thread::sleep_for(1s);
  auto after = resident_mib(b.c.master.pid());
  char s[768];
  std::snprintf(s, sizeof s,
                "20 bus connections on a channel summed every 10 ms and 20 control connections sending 20000 inventory queries "
                "each, none reading, for 40 s: the master's sockets held %zu connections (%.1f MB unsent) before, at most %zu (%.1f "
                "MB), %zu (%.1f MB) after 39 s; master RSS %+.1f MB after",
                at_start.connections, mb(at_start.queued_bytes), most.connections, mb(most.queued_bytes), late.connections,
                mb(late.queued_bytes), after - before);
  return s;
}

std::string source_and_seq(bench& b) {
  wire_client pub(b.control(), b.client("edge-pub", "publisher"));
  wire::signal_list one{{"signal-A", 1, "virtual"}};
  auto long_source = pub.call(wire::signal_frame{"edge", std::string(1021, 's'), 1, one});
  auto last_seq = pub.call(wire::signal_frame{"edge", "", UINT64_MAX, one});
  auto largest = pub.call(wire::signal_frame{"edge", "", wire::max_signal_seq, one});
  return "a source of 1021 B: " + answer(long_source) + "; seq 2^64-1: " + answer(last_seq) + "; seq 2^64-2: " + answer(largest);
}

} // namespace

int main(int argc, char** argv) {
  struct attack_kind {
    int kind;
    std::string label;
    std::function<std::string(bench&)> run;
  };
  const std::vector<attack_kind> all{
    {1, "attack 1 bus subscriptions", bus_subscriptions},
    {2, "attack 2 big exports", big_exports},
    {3, "attack 3 instances", instances},
    {4, "attack 4 http header flood", header_flood},
    {4, "attack 4 http slow headers", slow_headers},
    {4, "attack 4 http idle connections", idle_connections},
    {4, "attack 4 http body over 64 KiB", big_body},
    {5, "attack 5 inventory subscriptions", inventory_subscriptions},
    {6, "attack 6 signal flood", signal_flood},
    {7, "attack 7 log flood", log_flood},
    {8, "attack 8 signal source and seq", source_and_seq},
    {9, "attack 9 clients that do not read", unread},
  };
  std::set<int> kinds{1, 2, 3, 4, 5, 6, 7, 8, 9};
  if (argc == 3 && std::string(argv[1]) == "--only") {
    kinds.clear();
    std::stringstream list(argv[2]);
    for (std::string k; std::getline(list, k, ',');)
      kinds.insert(std::atoi(k.c_str()));
  }
  if ((argc != 1 && argc != 3) || kinds.empty() || *kinds.begin() < 1 || *kinds.rbegin() > 9) {
    std::cerr << "usage: abuse [--only KINDS]   (KINDS: attack numbers 1 to 9, comma-separated; default all)\n";
    return 2;
  }

  bench b;
  b.c.wait_for_flow(100);
  // The probe works before the attacks, and the page's latency without them.
  auto t0 = mono_ms();
  auto before = on_bus(b.bus_delivery(1, probe_timeout), probe_timeout);
  std::this_thread::sleep_for(5s);
  b.report("baseline", "items moving; " + before, t0, mono_ms());
  for (auto& a : all)
    if (kinds.count(a.kind))
      b.attack(a.label, [&] { return a.run(b); });

  auto overall = b.w->between(b.attacks_from, b.attacks_to);
  auto took = b.bus_delivery(1000, probe_timeout);
  auto connected = std::count_if(took.begin(), took.end(), [](double t) { return t >= 0; });
  std::printf("after the attacks: %s, a storage level reaching their worlds\n", on_bus(took, probe_timeout).c_str());
  // The ledger is read over RCON: a world still digesting an attack may time out, then it is
  // read again (three times at most).
  std::string lost = "null", duplicated = "null";
  for (int attempt = 1; attempt <= 3 && lost == "null"; ++attempt) {
    try {
      auto [l, settled] = b.c.settle(120);
      double lost_units = 0, duplicated_units = 0;
      for (auto& n : ledger::names) {
        std::printf("%s\n", l.describe(n).c_str());
        lost_units += l.lost(n);
        duplicated_units += l.duplicated(n);
      }
      if (!settled)
        std::printf("the cluster did not settle in 120 s: the ledger above is a reading while items moved\n");
      char n[64];
      std::snprintf(n, sizeof n, "%.15g", lost_units);
      lost = n;
      std::snprintf(n, sizeof n, "%.15g", duplicated_units);
      duplicated = n;
    } catch (const std::exception& e) {
      std::printf("the ledger could not be read (attempt %d of 3): %s\n", attempt, e.what());
    }
  }
  auto [master_peak, slave_peak] = b.w->peaks();
  std::printf("{\"bench\":\"abuse\",\"attacks\":%zu,\"master_peak_rss_mb\":%.1f,\"slave_peak_rss_mb\":%.1f,\"bus_connected_slaves_after\":%td,"
              "\"page_p99_ms\":%.0f,\"transfers_lost\":%s,\"transfers_duplicated\":%s}\n",
              kinds.size(), master_peak, slave_peak, connected, overall.page_p99_ms, lost.c_str(), duplicated.c_str());
  return 0;
}

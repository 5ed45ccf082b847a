// chaos: a soak of the exactly-once transfers (docs/transfers.md) under faults. A real master, three
// slaves and four factorio-sim worlds (two producers, two consumers, all on loopback) move iron
// plates and water while a seeded schedule injects faults:
//   - kill -9 of the master, restarted after a while;
//   - kill -9 of a slave (its games get SIGTERM, save and exit), restarted after a while;
//   - kill -9 of a world's game right after a save made with its slave frozen, so the world
//     restarts (by its slave) from a save that holds everything it did: no rollback;
//   - a slave's links cut for a while: SIGSTOP of the slave process (its sockets to the master
//     and to its games go silent; the master marks its instances offline after
//     instance_timeout_ms), then SIGCONT;
//   - a slave's control connection dying with messages in flight: its relay (tcp_relay) loses
//     what the master sends, what the slave sends, or both, for a while, then breaks the
//     connection; the slave's process connects again under the same routing id.
// Then the faults stop, everything comes back, transfers must resume, production and consumption
// stop, and once nothing moves the exact ledger must balance: for each name, produced = in
// put-chests/tanks + unacknowledged batches + storage + reservations + in get-chests/tanks + mod
// buffers + consumed.
//
//   chaos [--faults N] [--seed S]
//
// The seed is --seed, else $CHAOS_SEED, else random; it is printed first. It fixes the sequence
// of faults, targets and durations; when each lands relative to the transfers depends on timing.
// ctest runs a short soak; `scripts/bench chaos` a long one. The last line is
//   {"bench":"chaos","seed":S,"faults":N,"transfers":U,"lost":L,"duplicated":D,"surplus":X,"seconds":T}
// with U the units (plates and water) delivered to the consumer worlds by applied grants and X
// those of them granted beyond need (left in the mods' buffers once the worlds are full). The
// exit status is 0 when the cluster settled, transfers resumed and lost = duplicated = 0.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cluster.hpp"

using namespace clusterio::test;
using steady = std::chrono::steady_clock;

namespace {

enum class fault { kill_master, kill_slave, kill_world, cut_links, lose_in_flight };
constexpr std::size_t fault_kinds = 5;

/// How likely each fault is, in the order of `fault`.
const std::vector<double> fault_weights{2, 3, 3, 3, 3};
/// Seconds between two faults, and how long the lasting ones last.
constexpr double gap_min = 1.0, gap_max = 3.5;
constexpr double master_down_min = 1.0, master_down_max = 4.0;
constexpr double slave_down_min = 0.5, slave_down_max = 3.0;
/// Up to twice the master's instance_timeout_ms: some cuts make the instances go offline.
constexpr double cut_min = 1.0, cut_max = 6.0;
/// How long a control connection loses what is sent on it before it breaks.
constexpr double lose_min = 0.2, lose_max = 3.0;
constexpr int instance_timeout_ms = 3000;
constexpr int heartbeat_ms = 1000; ///< as the slaves' (tests/support/slave_fixture.cpp)
/// A world that was killed comes back after the slave's crash backoff (up to 30 s).
constexpr int world_up_timeout_ms = 90000;

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

class soak {
public:
  soak(cluster& c, std::uint32_t seed)
    : c_(c), rng_(seed), started_(steady::now()), slave_down_(c.slaves.size()), cut_(c.slaves.size()), losing_(c.slaves.size()) {}

  /// Injects `faults` faults, one after another with random gaps; lasting ones overlap.
  void inject(int faults) {
    std::discrete_distribution<int> kinds(fault_weights.begin(), fault_weights.end());
    std::uniform_int_distribution<std::size_t> slaves(0, c_.slaves.size() - 1), worlds(0, c_.worlds.size() - 1);
    std::uniform_real_distribution<double> unit(0, 1);
    for (int i = 1; i <= faults; ++i) {
      // Every draw is made every time, so the seed alone fixes the schedule.
      double gap = gap_min + unit(rng_) * (gap_max - gap_min);
      auto kind = static_cast<fault>(kinds(rng_));
      auto slave = slaves(rng_);
      auto& world = c_.worlds[worlds(rng_)];
      double length = unit(rng_);
      double way = unit(rng_); // which way a losing connection loses
      pause(gap);
      switch (kind) {
        case fault::kill_master:
          length = master_down_min + length * (master_down_max - master_down_min);
          say(i, "kill -9 of the master, down for " + fixed(length) + " s");
          if (master_down_)
            restart_master();
          c_.master.kill_hard();
          master_down_ = deadline(length);
          break;
        case fault::kill_slave:
          length = slave_down_min + length * (slave_down_max - slave_down_min);
          say(i, "kill -9 of " + slave_name(slave) + ", down for " + fixed(length) + " s");
          if (slave_down_[slave])
            restart_slave(slave);
          if (losing_[slave])
            break_link(slave); // the next process must not lose its handshake
          c_.slaves[slave]->kill_service(); // a cut slave dies too: nothing to restore but the process
          cut_[slave].reset();
          slave_down_[slave] = deadline(length);
          break;
        case fault::cut_links:
          length = cut_min + length * (cut_max - cut_min);
          say(i, "links of " + slave_name(slave) + " cut (SIGSTOP) for " + fixed(length) + " s");
          bring_up(slave);
          c_.slaves[slave]->signal_service(SIGSTOP);
          cut_[slave] = deadline(length);
          break;
        case fault::lose_in_flight: {
          length = lose_min + length * (lose_max - lose_min);
          bool from_master = way < 2.0 / 3, from_slave = way >= 1.0 / 3;
          say(i, "control connection of " + slave_name(slave) + " loses what " +
                   (from_master && from_slave ? "both sides send" : from_master ? "the master sends" : "the slave sends") + " for " +
                   fixed(length) + " s, then breaks");
          bring_up(slave);
          c_.links[slave]->lose_from_server(from_master);
          c_.links[slave]->lose_from_client(from_slave);
          losing_[slave] = deadline(length);
          break;
        }
        case fault::kill_world:
          say(i, "kill -9 of world " + world.name + " right after a save");
          bring_up(world.slave);
          await_world(world.name);
          c_.kill_world_after_save(world.name);
          break;
      }
      ++counts_[static_cast<std::size_t>(kind)];
    }
  }

  /// Ends every lasting fault now.
  void end_faults() {
    if (master_down_)
      restart_master();
    for (std::size_t s = 0; s < c_.slaves.size(); ++s)
      bring_up(s);
    check_alive();
  }

  std::string summary() const {
    return std::to_string(counts_[0]) + " master kills, " + std::to_string(counts_[1]) + " slave kills, " + std::to_string(counts_[2]) +
           " world kills, " + std::to_string(counts_[3]) + " link cuts, " + std::to_string(counts_[4]) + " connections broken with messages lost";
  }

private:
  cluster& c_;
  std::mt19937 rng_;
  steady::time_point started_;
  std::optional<steady::time_point> master_down_;
  std::vector<std::optional<steady::time_point>> slave_down_, cut_, losing_; ///< by slave index
  std::size_t counts_[fault_kinds] = {};

  static steady::time_point deadline(double s) {
    return steady::now() + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
  }
  static std::string fixed(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }
  std::string slave_name(std::size_t s) const { return "slave-" + std::to_string(s); }
  void say(int i, const std::string& what) const {
    std::cerr << "[" << fixed(seconds_since(started_)) << " s] fault " << i << ": " << what << std::endl;
  }

  void restart_master() {
    c_.master.start();
    master_down_.reset();
  }
  void restart_slave(std::size_t s) {
    c_.slaves[s]->run();
    slave_down_[s].reset();
  }
  void restore_links(std::size_t s) {
    c_.slaves[s]->signal_service(SIGCONT);
    cut_[s].reset();
  }
  /// Ends a losing connection: it breaks (what it lost stays lost), and the next one is whole.
  void break_link(std::size_t s) {
    c_.links[s]->cut();
    losing_[s].reset();
  }
  /// The slave's process runs, with its links up.
  void bring_up(std::size_t s) {
    if (slave_down_[s])
      restart_slave(s);
    if (cut_[s])
      restore_links(s);
    if (losing_[s])
      break_link(s);
  }

  /// Every process not killed on purpose must run: one that ended by itself is a crash.
  void check_alive() {
    std::string why;
    if (!master_down_ && !c_.master.running(why))
      throw std::runtime_error("the master ended by itself: " + why + "; log " + c_.master.data_dir() + "/master.log");
    for (std::size_t s = 0; s < c_.slaves.size(); ++s)
      if (!slave_down_[s] && !c_.slaves[s]->service_running(why))
        throw std::runtime_error(slave_name(s) + " ended by itself: " + why + "; log " + c_.slaves[s]->dir() + "/slave.log");
  }

  /// Ends the lasting faults that are due.
  void end_due_faults() {
    check_alive();
    auto now = steady::now();
    if (master_down_ && *master_down_ <= now)
      restart_master();
    for (std::size_t s = 0; s < c_.slaves.size(); ++s) {
      if (slave_down_[s] && *slave_down_[s] <= now)
        restart_slave(s);
      if (cut_[s] && *cut_[s] <= now)
        restore_links(s);
      if (losing_[s] && *losing_[s] <= now)
        break_link(s);
    }
  }

  /// Waits `seconds`, ending lasting faults as they come due.
  void pause(double seconds) {
    auto until = deadline(seconds);
    while (steady::now() < until) {
      end_due_faults();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  /// Waits until the world runs (it may be in its slave's crash backoff), ending lasting faults
  /// as they come due: the world may need the master to register.
  void await_world(const std::string& name) {
    auto until = deadline(world_up_timeout_ms / 1000.0);
    while (c_.slave_of(name).game_pid(name) == 0) {
      if (steady::now() > until)
        throw std::runtime_error(name + " did not come up in " + std::to_string(world_up_timeout_ms / 1000) + " s; logs: " + c_.log_locations());
      end_due_faults();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
};

std::uint32_t choose_seed(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--seed")
      return static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
  if (auto* env = std::getenv("CHAOS_SEED"); env && *env)
    return static_cast<std::uint32_t>(std::stoul(env));
  return std::random_device{}();
}

int fault_count(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--faults")
      return std::stoi(argv[i + 1]);
  return 25;
}

} // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help") {
      std::cout << "usage: chaos [--faults N (25)] [--seed S]   (seed: --seed, else $CHAOS_SEED, else random)\n";
      return 0;
    }
  auto seed = choose_seed(argc, argv);
  auto faults = fault_count(argc, argv);
  std::cerr << "chaos: seed " << seed << " (CHAOS_SEED=" << seed << " repeats the schedule), " << faults << " faults" << std::endl;
  auto started = steady::now();
  try {
    cluster c(3,
              {{"producer-1", "producer", 0}, {"consumer-1", "consumer", 0}, {"producer-2", "producer", 1}, {"consumer-2", "consumer", 2}},
              "\"heartbeat_ms\":" + std::to_string(heartbeat_ms) + ",\"instance_timeout_ms\":" + std::to_string(instance_timeout_ms));
    std::cerr << "chaos: logs: " << c.log_locations() << std::endl;
    c.wait_for_flow(100, 60);

    soak s(c, seed);
    s.inject(faults);
    s.end_faults();
    std::cerr << "chaos: faults done (" << s.summary() << "); waiting for every world to run" << std::endl;
    for (auto& w : c.worlds)
      c.slaves[w.slave]->wait_running(w.name, world_up_timeout_ms + 30000);
    // Transfers must resume, not merely balance.
    c.wait_for_flow(c.count().delivered("iron-plate") + 200, 90);
    auto [l, settled] = c.settle(120);

    double lost = 0, duplicated = 0, transfers = 0, surplus = 0;
    for (auto& n : ledger::names) {
      std::cerr << "chaos: " << l.describe(n) << std::endl;
      lost += l.lost(n);
      duplicated += l.duplicated(n);
      transfers += l.delivered(n);
      surplus += l.buffered[n];
    }
    if (!settled)
      std::cerr << "chaos: FAILED: the cluster did not settle (something stays in flight)" << std::endl;
    if (lost != 0 || duplicated != 0)
      std::cerr << "chaos: FAILED: the ledger does not balance; logs: " << c.log_locations() << std::endl;
    std::printf("{\"bench\":\"chaos\",\"seed\":%u,\"faults\":%d,\"transfers\":%.15g,\"lost\":%.15g,\"duplicated\":%.15g,\"surplus\":%.15g,"
                "\"seconds\":%.0f}\n",
                seed, faults, transfers, lost, duplicated, surplus, seconds_since(started));
    return settled && lost == 0 && duplicated == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "chaos: FAILED (seed " << seed << "): " << e.what() << std::endl;
    return 2;
  }
}

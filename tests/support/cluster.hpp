#pragma once
// A whole cluster on loopback for tests and benchmarks: a real master (CURVE), slaves that each
// supervise their factorio-sim worlds (`clusterio-slave run`, the real mod), and the exact
// conservation ledger of docs/transfers.md for iron plates and water. Failures throw std::runtime_error
// (Catch2 reports them with their message).

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/credentials.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/mod_folder.hpp"
#include "tests/support/slave_fixture.hpp"
#include "tests/support/tcp_relay.hpp"

namespace clusterio::test {

/// One world of a cluster: its instance name, its factorio-sim scenario ("producer" or
/// "consumer", sim/scenarios/) and the index of the slave that runs it.
struct world_spec {
  std::string name;
  std::string scenario;
  std::size_t slave;
};

/// Where every unit of each name is, summed over the whole cluster.
struct ledger {
  /// The names the scenarios make and use.
  static inline const std::vector<std::string> names{"iron-plate", "water"};

  std::map<std::string, double> produced;        ///< the producer scenarios' counters
  std::map<std::string, double> in_putters;      ///< in put-chests and put-tanks
  std::map<std::string, double> pending_exports; ///< in export batches not yet acknowledged
  std::map<std::string, double> stock;           ///< in the master's storage
  std::map<std::string, double> reserved;        ///< in the master's reservations (grants)
  std::map<std::string, double> in_getters;      ///< in get-chests and get-tanks
  std::map<std::string, double> buffered;        ///< granted, waiting in the mods' buffers
  std::map<std::string, double> consumed;        ///< the consumer scenarios' counters

  /// Everything but `produced`: equal to it when nothing was lost or duplicated.
  double accounted(const std::string& name) const;
  double lost(const std::string& name) const;       ///< produced − accounted, if positive
  double duplicated(const std::string& name) const; ///< accounted − produced, if positive
  /// Units that arrived through applied grants: in get-chests and tanks, buffered or used.
  double delivered(const std::string& name) const;
  std::string describe(const std::string& name) const;
};

class cluster {
public:
  /// A producer world on slave 0 and a consumer world on slave 1.
  cluster();
  /// `slave_count` slaves, each running its `worlds`, all started and registered.
  /// `master_config`: extra keys for the master's config file, e.g. "\"instance_timeout_ms\":3000".
  /// `shared_mods`: mods every world loads besides clusterio (in each slave's sharedMods/).
  cluster(std::size_t slave_count, std::vector<world_spec> worlds, const std::string& master_config = {},
          const std::vector<mod_folder>& shared_mods = {});

  master_fixture master;
  std::vector<credential> creds; ///< the slaves' credentials, by slave index
  /// Each slave's control connection goes through its relay, by slave index, so that a test can
  /// lose what is in flight on it and break it (tcp_relay).
  std::vector<std::unique_ptr<tcp_relay>> links;
  std::vector<std::unique_ptr<slave_fixture>> slaves;
  std::vector<world_spec> worlds;

  const world_spec& world(const std::string& name) const;
  slave_fixture& slave_of(const std::string& world);

  /// Reads the ledger piece by piece (worlds over RCON, the master over its control socket):
  /// exact only while nothing moves.
  ledger count();
  /// Waits until the consumer worlds have received at least `units` iron plates in total.
  void wait_for_flow(double units, int timeout_s = 40);
  /// Stops production and consumption in every world, then waits (up to `timeout_s`) until
  /// nothing is in flight and two readings a second apart agree. Returns the last reading and
  /// whether it settled.
  std::pair<ledger, bool> settle(int timeout_s = 60);
  /// kill -9 of a world's game right after a save that holds everything it did: its slave is
  /// frozen (SIGSTOP) first, so no transfer happens between the save and the kill, and the
  /// world restarts from that save with nothing rolled back. Its slave then goes on (SIGCONT)
  /// and restarts the game. The world must be running (slave_fixture::game_pid).
  void kill_world_after_save(const std::string& world);

  /// Where the logs are, for failure messages (the logs themselves can be long).
  std::string log_locations() const;

private:
  /// A world's put and get contents and its scenario's counters.
  nlohmann::json world_contents(const world_spec& w);
};

} // namespace clusterio::test

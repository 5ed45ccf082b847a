#pragma once
// The master's allow-list: which CURVE public keys may connect, under which name and role.
// Stored in the master's database (table clients), written by `clusterio-master add-slave`,
// `add-tool` and `remove-client` (even while the master runs) and read by the gateway, which
// reloads it when it changed (checked every second, and when a key it does not know connects).

#include <memory>
#include <string>
#include <vector>

#include "common/credentials.hpp"
#include "common/sqlite.hpp"

namespace clusterio {

class allow_list {
public:
  struct entry {
    std::string name;
    clusterio::role role = role::subscriber;
    std::string public_key; ///< Z85
  };

  static result<std::unique_ptr<allow_list>> open(const std::string& db_path);

  /// Adds a client. A name taken already is refused (naming its role), so that a mistyped name
  /// does not silently revoke another client's key.
  result<void> add(const entry& e);
  /// Replaces the key and role of an existing name (revoking its old key), or adds it.
  result<void> replace(const entry& e);
  /// Removes a client (an unknown name is a failure).
  result<void> remove(const std::string& name);
  /// Every client.
  result<std::vector<entry>> load();
  /// True if another connection (e.g. `add-slave` in another process) changed the database
  /// since the last call. Cheap: SQLite's data_version, no table read.
  bool changed();

private:
  explicit allow_list(std::unique_ptr<sql::database> db) : db_(std::move(db)) {}
  std::unique_ptr<sql::database> db_;
  std::int64_t data_version_ = -1;
};

} // namespace clusterio

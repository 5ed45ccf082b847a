#pragma once
// Who may connect to the master and who sent a frame. With CURVE, the allow-list in master.db
// (store/allow_list.hpp) decides: its keys, cached here by Z85 key and reloaded when another
// process (`clusterio-master add-slave`, `remove-client`) changes it. A key, not a name, is what is
// let in: a key replaced under the same name is refused as a removed one is. In insecure mode
// anyone connects with every right, named by its hello (docs/protocol.md §2).
//
// Used by the gateway's socket thread only; the ZAP exchange and the sockets stay there.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "control/peer.hpp"
#include "common/warning_limit.hpp"
#include "store/allow_list.hpp"

namespace clusterio {

class authentication {
public:
  /// Opens the allow-list of master.db at `db_path` and loads it. `warnings` limits the lines
  /// logged for refused keys (it must outlive the authentication).
  static result<std::unique_ptr<authentication>> open(const std::string& db_path, warning_limit& warnings);
  /// No CURVE: every client has every right (a local demo).
  static std::unique_ptr<authentication> insecure();

  /// The answer to a ZAP request (RFC 27: version, request id, domain, address, identity,
  /// mechanism, credentials): "200" with the client's Z85 key as its user id for a key on the
  /// allow-list; a refusal for anything else. An unknown key reloads a changed allow-list first.
  struct zap_verdict {
    std::string status = "400", text = "unknown key", user_id;
  };
  zap_verdict decide(const std::vector<std::string_view>& request);

  /// Who sent a frame: the client whose key is `user_id` (the ZAP user id of its connection;
  /// may be null), or in insecure mode the name its routing id has (from its hello, or the part
  /// before the last dot of a slave's "<name>.<pid>-<random>", else "anonymous"). A peer with an
  /// empty name: unknown, or revoked since it connected.
  peer identify(const std::string& routing_id, const char* user_id) const;

  /// A hello from `routing_id`: in insecure mode, `name` is what the peer goes by from now on.
  void note_hello(const std::string& routing_id, const std::string& name, peer& who);

  /// Reloads the allow-list if another connection changed it since the last look.
  void check_for_changes();

  /// A key left the allow-list (removed, or replaced under its name) since revocations_handled():
  /// connections that cannot be checked frame by frame (the bus) must be closed.
  bool keys_revoked() const { return keys_revoked_; }
  void revocations_handled() { keys_revoked_ = false; }

  bool is_insecure() const { return !clients_; }

private:
  authentication(std::unique_ptr<allow_list> clients, warning_limit* warnings) : clients_(std::move(clients)), warnings_(warnings) {}
  void reload();

  std::unique_ptr<allow_list> clients_; ///< null in insecure mode
  warning_limit* warnings_;             ///< null in insecure mode
  std::unordered_map<std::string, allow_list::entry> by_key_; ///< Z85 public key -> client
  bool keys_revoked_ = false;
  std::unordered_map<std::string, std::string> insecure_names_; ///< routing id -> hello name
};

} // namespace clusterio

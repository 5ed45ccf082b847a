#pragma once
// CURVE credentials. A credential file is JSON:
//   {"name": "slave1", "role": "slave", "public_key": "<Z85>", "secret_key": "<Z85>",
//    "master_public_key": "<Z85>", "master": "host:7100"}
// The master keeps its own key pair in <data>/master_key.json ({"public_key","secret_key"}) and
// the allow-list of client public keys, with their roles, in its database.

#include <optional>
#include <string>

#include "common/result.hpp"

namespace clusterio {

/// What a client may do; see docs/protocol.md.
enum class role { slave, publisher, subscriber, admin };
const char* to_string(role r);
std::optional<role> parse_role(const std::string& text);

struct key_pair {
  std::string public_key; ///< 40 Z85 characters
  std::string secret_key; ///< 40 Z85 characters
};

/// Generates a new CURVE key pair (libzmq's generator).
key_pair make_key_pair();

struct credential {
  std::string name;
  clusterio::role role = role::slave;
  key_pair keys;
  std::string master_public_key;
  std::string master_address; ///< "host:port" of the master's control socket; may be empty
};

/// Reads a credential file.
result<credential> load_credential(const std::string& path);
/// Writes a credential file with mode 0600.
result<void> save_credential(const std::string& path, const credential& c);

/// Reads or, if absent, creates <data_dir>/master_key.json.
result<key_pair> load_or_create_master_key(const std::string& data_dir);

/// True if `key` is 40 characters of Z85 that decode to 32 bytes.
bool valid_z85_key(const std::string& key);

} // namespace clusterio

#pragma once
// What a slave fetches from the master's web interface (docs/webui.md): the clusterio mod zip the
// master serves, so that slaves and game clients run the same one. Blocking, with timeouts.

#include <chrono>
#include <string>

#include "common/mod_zip.hpp"
#include "common/result.hpp"

namespace clusterio {

/// Where the master's web interface is: `host` as in the master's control address (an IPv6
/// address in brackets), and its HTTP port.
struct master_web {
  std::string host;
  int port = 8080;
  std::chrono::milliseconds timeout{5000};

  std::string url() const { return "http://" + host + ":" + std::to_string(port); }
};

/// GET /api/mod: the mod zip the master serves. A failure says why (no answer, no mod, bad reply).
result<mod_identity> fetch_mod_identity(const master_web& web);
/// Downloads that zip and checks its size and SHA-256 against `id`.
result<std::string> fetch_mod_zip(const master_web& web, const mod_identity& id);

} // namespace clusterio

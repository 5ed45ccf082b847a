#pragma once
// The master's web server (cpp-httplib): the page in webui/, its JSON API and /metrics in the
// Prometheus text format. Reference: docs/webui.md.
//
// Its threads (a small pool) never touch actor state: each request asks the owning actor
// (storage, registry) through a caf::scoped_actor with `ask_timeout`, and answers 503 if the
// actor does not answer in time. Counters come from the `metrics` object (atomics).
//
// Everything it serves is read-only. Any other method than GET/HEAD needs
// `Authorization: Bearer <admin token>` (401 without it); no state-changing endpoint exists yet,
// so an authorized one gets 405. Responses carry a strict Content-Security-Policy; the page
// builds its DOM with textContent only, so names sent by slaves are never parsed as HTML.
//
//   stopped --start()--> serving --stop()--> stopped

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <caf/fwd.hpp>

#include "actors/master/registry.hpp"
#include "actors/master/signal_bus.hpp"
#include "actors/master/storage.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace clusterio {

class outbox;
struct metrics;

struct http_config {
  std::string bind = "0.0.0.0";
  int port = 8080;         ///< 0: an ephemeral port (see port())
  std::string webui_dir;   ///< folder with index.html, app.js, style.css and node_modules/uplot
  std::string admin_token; ///< needed for any non-GET request; "" refuses them all
  const clock* time = &machine_clock(); ///< `now_ms` in the JSON replies
};

struct http_peers {
  storage_actor storage;
  registry_actor registry;
  signal_bus_actor signal_bus; ///< optional: without it, /metrics has no signal channel families
};

/// The admin token in `<data_dir>/admin.token` (mode 0600), created with 32 random bytes (hex)
/// at first start.
result<std::string> load_or_create_admin_token(const std::string& data_dir);

class http_server {
public:
  http_server(caf::actor_system& sys, http_config cfg, http_peers peers, metrics& counters, const outbox& out);
  ~http_server();

  /// Binds the port and starts serving.
  result<void> start();
  /// Stops serving and joins the threads.
  void stop();
  /// The port actually bound (after start()).
  int port() const { return port_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

} // namespace clusterio

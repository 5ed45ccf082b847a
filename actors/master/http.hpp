#pragma once
// The master's web server (GNU libmicrohttpd): the page in webui/, its JSON API and /metrics in
// the Prometheus text format. Reference: docs/webui.md; its bounds: docs/limits.md ("HTTP").
//
// Threads: one polling thread runs libmicrohttpd (every connection, on epoll): it reads
// requests, serves the page's files and sends replies. An API request is handed to one of four
// workers and its connection suspended meanwhile; the worker asks the owning actor (storage,
// registry, signal bus) through a caf::scoped_actor with `ask_timeout` (503 if no answer in
// time), then resumes the connection. So a slow actor holds a worker, never the polling thread,
// and a slow or idle client holds only its own connection. Counters come from the `metrics`
// object (atomics).
//
// Bounds on clients: a request head fits in 32 KiB (else 431, or 414 for the request line) with
// at most 100 header fields (431); a request must arrive whole within 10 s of the connection or
// of the previous reply, else the connection is closed; 512 connections at once, 128 from one
// address (more from one address are closed at once; more in all wait in the kernel's queue).
//
// Viewers read; admins change state. Only /api/session (sign in and out: web/sessions.hpp, with
// the admin token or a web user's password: store/web_users.hpp) and /api/commands (instance
// commands, relayed by the commands actor) change state; they read a JSON body and take an admin
// as `Authorization: Bearer <admin token>`, or an admin's session cookie together with its CSRF
// token in `X-CSRF-Token`. With `viewers_sign_in` the API's reads need a session (any role) or
// the admin token as well, but for /api/health and /api/mod. Any other method than GET/HEAD elsewhere gets
// 401 without the token, 405 with it; /api/audit and command results need an admin to read. A
// declared body over 64 KiB gets 413 whatever the method and before the token check, a chunked
// one 411; other endpoints never read a body, so a request that has one gets `Connection:
// close`. Responses carry a strict Content-Security-Policy; the page builds its DOM with
// textContent only, so names sent by slaves are never parsed as HTML.
//
//   stopped --start()--> serving --stop()--> stopped

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <caf/fwd.hpp>

#include "actors/master/commands.hpp"
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
  std::string mod_zip;     ///< served at /mod/<file> with /api/mod; "": none
  std::string db_path;     ///< master.db, for the web users who sign in by password; "": none
  bool viewers_sign_in = false; ///< the API's reads need a session or the admin token too
};

struct http_peers {
  storage_actor storage;
  registry_actor registry;
  signal_bus_actor signal_bus; ///< optional: without it, /metrics has no signal channel families
  commands_actor commands;     ///< /api/audit
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
  /// Stops serving: the polling thread, then the workers (requests still waiting get 503),
  /// then libmicrohttpd, which closes every connection.
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

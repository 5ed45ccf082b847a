#include "actors/master/http.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include <caf/all.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/files.hpp"
#include "common/outbox.hpp"
#include "control/metrics.hpp"
#include "web/http_params.hpp"

namespace clusterio {

namespace {

using json = nlohmann::json;

/// How long a request waits for an actor. The storage actor may be in the middle of an fsync'd
/// commit; longer than that means it is overloaded and the page should say so (503).
constexpr auto ask_timeout = std::chrono::seconds(3);
/// Worker threads of the server: the page polls a few endpoints every two seconds per viewer.
constexpr std::size_t http_threads = 4;
/// Request bodies are refused (413) beyond this: the API has no endpoint that takes one.
constexpr std::size_t max_request_body = 64 * 1024;
/// The storage table's rate column covers this many minutes unless the request says otherwise.
constexpr std::uint64_t default_rate_minutes = 5;
/// How far back graphs go unless the request says otherwise, and at most (one year).
constexpr std::uint64_t default_graph_minutes = 60;

/// Sent with every response. The page loads only its own files and talks only to this origin;
/// no inline script or style, no frames, no plugins.
const httplib::Headers security_headers = {
  {"Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                              "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"},
  {"X-Content-Type-Options", "nosniff"},
  {"Referrer-Policy", "no-referrer"},
  {"X-Frame-Options", "DENY"},
  {"Cache-Control", "no-cache"},
};

/// Static files: URL path -> (path under webui_dir, content type). Nothing else under webui_dir
/// is served (package.json, the rest of node_modules).
struct static_file {
  const char* url;
  const char* file;
  const char* type;
};
constexpr static_file static_files[] = {
  {"/", "index.html", "text/html; charset=utf-8"},
  {"/index.html", "index.html", "text/html; charset=utf-8"},
  {"/app.js", "app.js", "text/javascript; charset=utf-8"},
  {"/style.css", "style.css", "text/css; charset=utf-8"},
  {"/vendor/uPlot.iife.min.js", "node_modules/uplot/dist/uPlot.iife.min.js", "text/javascript; charset=utf-8"},
  {"/vendor/uPlot.min.css", "node_modules/uplot/dist/uPlot.min.css", "text/css; charset=utf-8"},
};

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Escapes a Prometheus label value: backslash, double quote and newline.
std::string label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

template <std::size_t... I> std::array<const char*, sizeof...(I)> message_type_names(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, wire::message>::type...};
}

/// Text of the Prometheus exposition format, one family at a time.
class exposition {
public:
  void family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  /// A family with one unlabelled sample.
  template <class T> void single(const char* name, const char* type, const char* help, T value) {
    family(name, type, help);
    sample(name, value);
  }
  template <class T> void sample(const char* name, T value, const std::string& labels = {}) {
    out_ << name;
    if (!labels.empty())
      out_ << "{" << labels << "}";
    out_ << " " << value << "\n";
  }
  std::string str() const { return out_.str(); }

private:
  std::ostringstream out_;
};

std::string instance_labels(const wire::instance_info& i) {
  return "instance_id=\"" + std::to_string(i.instance_id) + "\",instance_name=\"" + label_value(i.name) + "\",slave=\"" +
         label_value(i.slave) + "\"";
}

/// What an instance keeps from the cluster, as /api/instances shows it (docs/webui.md).
json held_back_json(const wire::held_back_report& h) {
  json items = json::array();
  for (auto& i : h.items)
    items.push_back({{"name", i.name}, {"quality", i.quality}, {"count", i.count}});
  return {{"items", items}, {"items_total", h.items_total}, {"signals_not_shown", h.signals_not_shown}};
}

bool same_token(const std::string& a, const std::string& b) {
  // Constant time in the token's length: do not leak how much of a guess was right.
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

} // namespace

struct http_server::impl {
  caf::actor_system& sys;
  http_config cfg;
  http_peers peers;
  metrics& counters;
  const outbox& out;
  httplib::Server srv;

  impl(caf::actor_system& s, http_config c, http_peers p, metrics& m, const outbox& o)
    : sys(s), cfg(std::move(c)), peers(std::move(p)), counters(m), out(o) {}

  /// Asks `whom` and waits up to ask_timeout; a failure names who did not answer and why.
  template <class T, class Handle, class... Ts> result<T> ask(const char* who, const Handle& whom, Ts&&... xs) {
    std::optional<result<T>> answer;
    caf::scoped_actor self{sys};
    self->request(whom, ask_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& v) { answer.emplace(std::move(v)); },
               [&](caf::error& e) { answer.emplace(failure(std::string(who) + " did not answer: " + sys.render(e))); });
    return std::move(*answer);
  }

  static void send_json(httplib::Response& res, const json& j, int status = 200) {
    res.status = status;
    res.set_content(dump(j), "application/json; charset=utf-8");
  }
  static void send_unavailable(httplib::Response& res, const failure& why) { send_json(res, {{"error", why.what()}}, 503); }

  void api_instances(httplib::Response& res) {
    auto v = ask<web_instances_view>("registry", peers.registry, web_instances_atom::value);
    if (!v)
      return send_unavailable(res, v.error());
    json slaves = json::array(), instances = json::array();
    for (auto& s : v->slaves)
      slaves.push_back({{"name", s.name}, {"online", s.online}, {"silent_ms", s.silent_ms}});
    for (auto& wi : v->instances) {
      auto& i = wi.info;
      json recent = json::array();
      for (auto& [ms, ups] : wi.recent_ups)
        recent.push_back({ms, ups});
      instances.push_back({{"instance_id", i.instance_id},
                           {"name", i.name},
                           {"slave", i.slave},
                           {"game_address", i.game_address},
                           {"online", i.online},
                           {"state", i.state},
                           {"ups", i.ups},
                           {"tick", i.tick},
                           {"players", i.players},
                           {"last_seen_ms", i.last_seen_ms},
                           {"held_back", held_back_json(i.held_back)},
                           {"recent_ups", recent}});
    }
    send_json(res, {{"now_ms", cfg.time->epoch_ms()}, {"slaves", slaves}, {"instances", instances}});
  }

  void api_storage(const httplib::Request& req, httplib::Response& res) {
    auto rate_minutes = web::uint_param(req.params, "rate_minutes", default_rate_minutes);
    if (!rate_minutes)
      return send_json(res, {{"error", rate_minutes.why()}}, 400);
    auto v = ask<web_storage_view>("storage", peers.storage, web_storage_atom::value, *rate_minutes);
    if (!v)
      return send_unavailable(res, v.error());
    json items = json::array();
    for (auto& it : v->items) {
      auto net = static_cast<double>(it.exported - it.imported) / static_cast<double>(v->rate_minutes);
      items.push_back({{"name", it.name},
                       {"quality", it.quality},
                       {"count", it.count},
                       {"exported", it.exported},
                       {"imported", it.imported},
                       {"rate_per_minute", net}});
    }
    send_json(res, {{"now_ms", cfg.time->epoch_ms()},
                    {"rate_minutes", v->rate_minutes},
                    {"reservations", v->reservations},
                    {"reserved_units", v->reserved_units},
                    {"failed", v->failed},
                    {"failure", v->failure},
                    {"items", items}});
  }

  void api_stats(const httplib::Request& req, httplib::Response& res) {
    auto instance = web::uint_param(req.params, "instance", 0);
    auto minutes = web::minutes_param(req.params, "minutes", default_graph_minutes);
    if (!instance || !minutes)
      return send_json(res, {{"error", instance ? minutes.why() : instance.why()}}, 400);
    web_stats_query q{web::text_param(req.params, "item"), *instance, *minutes};
    // Here "normal" may be spelled: the page sends back what /api/storage shows.
    if (auto quality = web::text_param(req.params, "quality"); !quality.empty() && quality != wire::normal_quality) {
      if (auto checked = wire::check_quality(quality); !checked)
        return send_json(res, {{"error", "quality: " + checked.why()}}, 400);
      q.quality = std::move(quality);
    }
    auto v = ask<web_series>("storage", peers.storage, web_stats_atom::value, q);
    if (!v)
      return send_unavailable(res, v.error());
    if (!v->error.empty())
      return send_json(res, {{"error", "statistics query failed: " + v->error}}, 500);
    json points = json::array();
    for (auto& p : v->points)
      points.push_back({{"minute", p.minute}, {"instance_id", p.instance_id}, {"exported", p.exported}, {"imported", p.imported}});
    send_json(res, {{"now_ms", cfg.time->epoch_ms()}, {"bucket_minutes", v->bucket_minutes}, {"points", points}});
  }

  void api_ups(const httplib::Request& req, httplib::Response& res) {
    auto instance = web::uint_param(req.params, "instance", 0);
    auto minutes = web::minutes_param(req.params, "minutes", default_graph_minutes);
    if (!instance || !minutes)
      return send_json(res, {{"error", instance ? minutes.why() : instance.why()}}, 400);
    auto v = ask<web_ups_series>("registry", peers.registry, web_ups_atom::value, *instance, *minutes);
    if (!v)
      return send_unavailable(res, v.error());
    json points = json::array();
    for (auto& p : *v)
      points.push_back({{"minute", p.minute}, {"instance_id", p.instance_id}, {"ups", p.ups}});
    send_json(res, {{"now_ms", cfg.time->epoch_ms()}, {"points", points}});
  }

  void api_health(httplib::Response& res) {
    auto s = ask<web_storage_view>("storage", peers.storage, web_storage_atom::value, std::uint64_t{1});
    auto r = ask<web_instances_view>("registry", peers.registry, web_instances_atom::value);
    json storage = s ? (s->failed ? "failed: " + s->failure : std::string("ok")) : "no answer: " + s.why();
    json registry = r ? std::string("ok") : "no answer: " + r.why();
    bool ok = s && !s->failed && r;
    send_json(res, {{"ok", ok}, {"storage", storage}, {"registry", registry}}, ok ? 200 : 503);
  }

  void prometheus(httplib::Response& res) {
    auto s = ask<web_storage_view>("storage", peers.storage, web_storage_atom::value, std::uint64_t{1});
    if (!s)
      return send_unavailable(res, s.error());
    auto r = ask<web_instances_view>("registry", peers.registry, web_instances_atom::value);
    if (!r)
      return send_unavailable(res, r.error());
    std::optional<signal_bus_stats> sig;
    if (peers.signal_bus) {
      auto stats = ask<signal_bus_stats>("signal bus", peers.signal_bus, sig_stats_atom::value);
      if (!stats)
        return send_unavailable(res, stats.error());
      sig = std::move(*stats);
    }
    auto load = [](const metrics::counter& c) { return c.load(std::memory_order_relaxed); };
    exposition e;
    e.family("clusterio_storage_items", "gauge", "Units of an item or fluid in the shared storage (items; fluids in fluid units).");
    for (auto& it : s->items)
      if (it.count != 0)
        e.sample("clusterio_storage_items", it.count, "item=\"" + label_value(it.name) + "\",quality=\"" + label_value(it.quality) + "\"");
    e.single("clusterio_storage_reserved_items", "gauge", "Units held by outstanding grants (reserved, not yet confirmed).", s->reserved_units);
    e.single("clusterio_storage_reservations", "gauge", "Outstanding grants.", s->reservations);
    e.single("clusterio_storage_failed", "gauge", "1 if a storage commit failed and writes are refused until restart.", s->failed ? 1 : 0);
    e.single("clusterio_export_batches_total", "counter", "Export batches applied since the master started (duplicates excluded).", load(counters.export_batches));
    e.single("clusterio_export_duplicate_batches_total", "counter", "Export batches acknowledged as duplicates (resent, not applied again).", load(counters.duplicate_batches));
    e.single("clusterio_exported_items_total", "counter", "Units put into storage by applied export batches.", load(counters.exported_units));
    e.single("clusterio_grants_total", "counter", "Grants (reservations) made.", load(counters.grants));
    e.single("clusterio_granted_items_total", "counter", "Units taken from storage by grants.", load(counters.granted_units));
    e.single("clusterio_returned_items_total", "counter", "Units returned to storage by cancelled grants and deleted instances.", load(counters.returned_units));
    e.single("clusterio_storage_errors_total", "counter", "Error replies from the storage actor (invalid exports, refused writes).", load(counters.storage_errors));

    std::size_t online = 0, slaves_online = 0;
    for (auto& wi : r->instances)
      online += wi.info.online ? 1 : 0;
    for (auto& sl : r->slaves)
      slaves_online += sl.online ? 1 : 0;
    e.single("clusterio_instances", "gauge", "Known instances.", r->instances.size());
    e.single("clusterio_instances_online", "gauge", "Instances that heartbeated within the instance timeout.", online);
    e.single("clusterio_slaves_online", "gauge", "Slaves heard from within the instance timeout.", slaves_online);
    e.family("clusterio_instance_online", "gauge", "1 if the instance is online, else 0.");
    for (auto& wi : r->instances)
      e.sample("clusterio_instance_online", wi.info.online ? 1 : 0, instance_labels(wi.info));
    e.family("clusterio_instance_updates_per_second", "gauge", "Game updates per second (UPS) in the last heartbeat; 60 is full speed.");
    for (auto& wi : r->instances)
      e.sample("clusterio_instance_updates_per_second", wi.info.ups, instance_labels(wi.info));
    e.family("clusterio_instance_players", "gauge", "Players online in the instance, as of its last heartbeat.");
    for (auto& wi : r->instances)
      e.sample("clusterio_instance_players", wi.info.players, instance_labels(wi.info));
    e.family("clusterio_instance_ticks", "gauge", "The instance's game tick as of its last heartbeat (goes back when a save is loaded).");
    for (auto& wi : r->instances)
      e.sample("clusterio_instance_ticks", wi.info.tick, instance_labels(wi.info));
    // Per instance only, not per item: a label per held-back item would make a series per
    // (instance, name, quality) a world ever held back. The breakdown is in /api/instances.
    e.family("clusterio_instance_items_held_back", "gauge", "Items left in the instance's put-chests because they carry state (armor with a grid, blueprints, damaged or partly used items...), as of its last heartbeat.");
    for (auto& wi : r->instances)
      e.sample("clusterio_instance_items_held_back", wi.info.held_back.items_total, instance_labels(wi.info));
    e.family("clusterio_instance_signals_not_shown", "gauge", "Signals receivers and inventory combinators had no room to output, as of the last heartbeat.");
    for (auto& wi : r->instances)
      e.sample("clusterio_instance_signals_not_shown", wi.info.held_back.signals_not_shown, instance_labels(wi.info));

    static const auto type_names = message_type_names(std::make_index_sequence<std::variant_size_v<wire::message>>{});
    e.family("clusterio_messages_received_total", "counter", "Well-formed messages received on the control socket, by message type (a batch frame counts each of its messages).");
    for (std::size_t i = 0; i < type_names.size(); ++i)
      e.sample("clusterio_messages_received_total", load(counters.messages_received[i]), std::string("type=\"") + type_names[i] + "\"");
    e.single("clusterio_batch_frames_total", "counter", "Frames on the control socket that held a batch of messages.", load(counters.batch_frames));
    e.single("clusterio_bad_frames_total", "counter", "Frames refused as undecodable or too large.", load(counters.bad_frames));
    e.single("clusterio_gateway_errors_total", "counter", "Error replies sent by the gateway (unauthorized, not found, invalid, unsupported, and overloaded to a client over its rate limit).", load(counters.gateway_errors));
    e.single("clusterio_throttled_frames_total", "counter", "Frames refused with 'overloaded': their client was over max_msgs_per_s_per_client.", load(counters.throttled_frames));
    e.single("clusterio_signal_frames_total", "counter", "Circuit signal frames received from publishers (before the bus's order check).", load(counters.signal_frames));
    if (sig) {
      auto per_channel = [&](const char* name, const char* type, const char* help, auto field) {
        e.family(name, type, help);
        for (auto& ch : sig->channels)
          e.sample(name, ch.*field, "channel=\"" + label_value(ch.channel) + "\"");
      };
      per_channel("clusterio_signal_channel_frames_total", "counter", "Signal frames published on the channel.", &signal_channel_stats::accepted);
      per_channel("clusterio_signal_channel_dropped_total", "counter", "Signal frames not published on the channel: not newer than the source's last.",
                  &signal_channel_stats::dropped);
      per_channel("clusterio_signal_channel_expired_total", "counter", "Sources whose contribution was removed after the source timeout.",
                  &signal_channel_stats::expired);
      per_channel("clusterio_signal_channel_sources", "gauge", "Sources currently contributing to the channel.", &signal_channel_stats::sources);
      e.single("clusterio_signal_kept_bytes", "gauge", "Bytes the signal bus keeps: every source's latest frame and what its tables spend on it (bound: max_signal_bytes).",
               sig->kept_bytes);
      e.family("clusterio_signal_refused_total", "counter", "Signal frames refused, by the bound they broke (nothing of them kept or published).");
      e.sample("clusterio_signal_refused_total", sig->refused_frame_bytes, "bound=\"max_signal_frame_bytes\"");
      e.sample("clusterio_signal_refused_total", sig->refused_kept_bytes, "bound=\"max_signal_bytes\"");
    }
    e.single("clusterio_outbox_dropped_total", "counter", "Replies and bus messages dropped because the outbox was full.", out.dropped());
    e.single("clusterio_http_requests_total", "counter", "HTTP requests served by the web interface.", load(counters.http_requests));
    e.single("clusterio_http_errors_total", "counter", "HTTP requests answered with a 5xx status.", load(counters.http_errors));
    res.set_content(e.str(), "text/plain; version=0.0.4; charset=utf-8");
  }

  void routes() {
    srv.new_task_queue = [] { return new httplib::ThreadPool(http_threads); };
    srv.set_default_headers(security_headers);
    // No endpoint takes a body, so none is read. A body over the limit is refused here, whatever
    // the method and before the token check: cpp-httplib checks the limit only after this
    // handler, and only for the methods whose bodies it reads. A chunked body has no length to
    // check before it is read.
    srv.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      bool chunked = req.has_header("Transfer-Encoding");
      auto length = req.get_header_value<std::uint64_t>("Content-Length");
      // The unread body must not be taken for the next request on the connection.
      if (chunked || length > 0)
        res.set_header("Connection", "close");
      if (chunked) {
        send_json(res, {{"error", "a request body needs a Content-Length"}}, 411);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (length > max_request_body) {
        send_json(res, {{"error", "request body over " + std::to_string(max_request_body / 1024) + " KiB"}}, 413);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.method == "GET" || req.method == "HEAD")
        return httplib::Server::HandlerResponse::Unhandled;
      auto auth = req.get_header_value("Authorization");
      const std::string bearer = "Bearer ";
      bool ok = !cfg.admin_token.empty() && auth.compare(0, bearer.size(), bearer) == 0 && same_token(auth.substr(bearer.size()), cfg.admin_token);
      if (!ok)
        send_json(res, {{"error", "this needs the admin token (Authorization: Bearer <token>)"}}, 401);
      else
        send_json(res, {{"error", "no endpoint changes state yet"}}, 405);
      return httplib::Server::HandlerResponse::Handled;
    });
    srv.set_logger([this](const httplib::Request&, const httplib::Response& res) {
      metrics::bump(&counters.http_requests);
      if (res.status >= 500)
        metrics::bump(&counters.http_errors);
    });
    for (auto& f : static_files) {
      srv.Get(f.url, [this, &f](const httplib::Request&, httplib::Response& res) {
        auto body = read_whole(cfg.webui_dir + "/" + f.file);
        if (!body) {
          res.status = 404;
          res.set_content(std::string("missing ") + f.file + " in " + cfg.webui_dir + " (run scripts/setup for node_modules)", "text/plain");
          return;
        }
        res.set_content(*body, f.type);
      });
    }
    srv.Get("/api/instances", [this](const httplib::Request&, httplib::Response& res) { api_instances(res); });
    srv.Get("/api/storage", [this](const httplib::Request& req, httplib::Response& res) { api_storage(req, res); });
    srv.Get("/api/stats", [this](const httplib::Request& req, httplib::Response& res) { api_stats(req, res); });
    srv.Get("/api/ups", [this](const httplib::Request& req, httplib::Response& res) { api_ups(req, res); });
    srv.Get("/api/health", [this](const httplib::Request&, httplib::Response& res) { api_health(res); });
    srv.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) { prometheus(res); });
  }
};

result<std::string> load_or_create_admin_token(const std::string& data_dir) {
  auto path = data_dir + "/admin.token";
  std::random_device rd; // getrandom(2) on Linux
  std::string token;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) {
    auto b = rd() & 0xff;
    token += hex[b >> 4];
    token += hex[b & 15];
  }
  auto created = create_file_exclusive(path, token + "\n", 0600);
  if (!created)
    return created.error();
  if (*created)
    return token;
  auto text = read_file(path);
  if (!text)
    return text;
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r' || text->back() == ' '))
    text->pop_back();
  if (text->empty())
    return failure(path + " is empty");
  return text;
}

http_server::http_server(caf::actor_system& sys, http_config cfg, http_peers peers, metrics& counters, const outbox& out)
  : impl_(std::make_unique<impl>(sys, std::move(cfg), std::move(peers), counters, out)) {}

http_server::~http_server() { stop(); }

result<void> http_server::start() {
  auto& g = *impl_;
  g.routes();
  if (g.cfg.port == 0)
    port_ = g.srv.bind_to_any_port(g.cfg.bind);
  else
    port_ = g.srv.bind_to_port(g.cfg.bind, g.cfg.port) ? g.cfg.port : -1;
  if (port_ <= 0)
    return failure("cannot bind the web interface to " + g.cfg.bind + ":" + std::to_string(g.cfg.port));
  thread_ = std::thread([&g] { g.srv.listen_after_bind(); });
  return done();
}

void http_server::stop() {
  if (thread_.joinable()) {
    impl_->srv.stop();
    thread_.join();
  }
}

} // namespace clusterio

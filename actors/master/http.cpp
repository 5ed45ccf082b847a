#include "actors/master/http.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <sys/socket.h>

#include <caf/all.hpp>
#include <microhttpd.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/files.hpp"
#include "common/mod_zip.hpp"
#include "common/outbox.hpp"
#include "common/random_hex.hpp"
#include "messages/json.hpp"
#include "control/metrics.hpp"
#include "store/web_users.hpp"
#include "web/http_params.hpp"
#include "web/sessions.hpp"

namespace clusterio {

namespace {

using json = nlohmann::json;

/// How long a request waits for an actor. The storage actor may be in the middle of an fsync'd
/// commit; longer than that means it is overloaded and the page should say so (503).
constexpr auto ask_timeout = std::chrono::seconds(3);
/// Threads that answer the API (each blocks on its actor questions); the polling thread only
/// reads requests, serves the page's files and sends replies, so a slow actor never holds it.
constexpr std::size_t http_workers = 4;
/// Request bodies are refused (413) beyond this...
constexpr std::size_t max_request_body = 64 * 1024;
/// ...but an admin's command may carry a piece of a save (base64) in its JSON.
constexpr std::size_t max_command_body = wire::max_request_bytes;
/// What one connection may hold: its request line and headers must fit (libmicrohttpd's pool,
/// which also holds the reply's header). Beyond it libmicrohttpd answers 431 and closes.
constexpr std::size_t connection_memory = 32 * 1024;
/// Header fields in a request (431 beyond): a browser sends about 15.
constexpr std::size_t max_header_fields = 100;
/// Connections at once, and from one address: enough for many viewers, few enough that the file
/// descriptors and the connections' memory (connection_memory each) stay small.
constexpr unsigned max_connections = 512;
constexpr unsigned max_connections_per_ip = 128;
/// A request must arrive whole (head, and any body) this soon after the connection opened or
/// the previous reply went out; else the connection is closed. A client that trickles its head
/// holds a connection this long at most.
constexpr auto request_deadline = std::chrono::seconds(10);
/// A connection with no traffic either way for this long is closed (a client that stops
/// reading a reply).
constexpr unsigned idle_timeout_s = 10;
/// How often at least the polling thread looks at the deadlines.
constexpr int poll_ms = 250;
/// The page of /api/instances: this many slaves and instances at most, unless the request
/// asks for fewer. An instance is about 3 KB of JSON (its 120 recent UPS points), 16 KB at the
/// worst (docs/limits.md), so a page stays below 8 MB.
constexpr std::uint64_t max_instances_page = 500;
/// Rows of /api/audit: by default, and at most.
constexpr std::uint64_t default_audit_rows = 100;
constexpr std::uint64_t max_audit_page = 1000;
/// GET endpoints that need the admin token.
const std::set<std::string> admin_only{"/api/audit"};
/// What anyone may read even when viewers must sign in (http_config::viewers_sign_in): a health
/// probe, and the mod game clients download.
const std::set<std::string> open_to_all{"/api/health", "/api/mod"};
/// The storage table's rate column covers this many minutes unless the request says otherwise.
constexpr std::uint64_t default_rate_minutes = 5;
/// How far back graphs go unless the request says otherwise, and at most (one year).
constexpr std::uint64_t default_graph_minutes = 60;

/// Sent with every response. The page loads only its own files and talks only to this origin;
/// no inline script or style, no frames, no plugins.
constexpr std::pair<const char*, const char*> security_headers[] = {
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
  {"/control.js", "control.js", "text/javascript; charset=utf-8"},
  {"/api.js", "api.js", "text/javascript; charset=utf-8"},
  {"/vendor/htm-preact.module.js", "node_modules/htm/preact/standalone.module.js", "text/javascript; charset=utf-8"},
  {"/vendor/sha256.module.js", "node_modules/js-sha256/build/sha256.min.mjs", "text/javascript; charset=utf-8"},
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

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

/// What a request gets back.
struct reply {
  reply(int s = 200, std::string b = {}, std::string t = "application/json; charset=utf-8") : status(s), body(std::move(b)), type(std::move(t)) {}
  int status;
  std::string body;
  std::string type;
  std::vector<std::pair<std::string, std::string>> headers; ///< more, e.g. Set-Cookie
};

reply json_reply(const json& j, int status = 200) { return {status, dump(j)}; }
reply unavailable(const failure& why) { return json_reply({{"error", why.what()}}, 503); }

/// One request on a connection, from its head to its reply (libmicrohttpd's per-request pointer).
struct exchange {
  bool body_declared = false;  ///< it has a body: unless reads_body, unread, and the reply closes the connection
  bool reads_body = false;     ///< an endpoint that takes a body (`actions`): read into `body`
  std::string body;
  bool waiting = false;        ///< handed to a worker
  std::optional<reply> answer; ///< set by a worker before it resumes the connection
  bool sent = false;
};

/// What an endpoint that may change state needs of its request, read on the polling thread.
struct web_request {
  std::string method;
  web::params query;
  std::string body;
  std::string session_token; ///< from the session cookie
  std::string csrf;          ///< the X-CSRF-Token header
  bool admin_token = false;  ///< Authorization: Bearer <the admin token>
  bool https = false;        ///< X-Forwarded-Proto: https (a TLS proxy in front): cookies get Secure
};

/// A request for a worker; its connection is suspended until `answer` is set.
struct job {
  MHD_Connection* connection;
  exchange* ex;
  std::function<reply()> work;
};

/// A connection's request deadline, watched by the polling thread.
struct watch {
  int fd;
  std::optional<std::chrono::steady_clock::time_point> deadline; ///< none while a request is served
};

MHD_Result add_param(void* cls, MHD_ValueKind, const char* key, const char* value) {
  static_cast<web::params*>(cls)->emplace(key, value ? value : "");
  return MHD_YES;
}

void log_from_mhd(void*, const char* format, va_list ap) {
  // Debug only: what libmicrohttpd reports is mostly what clients did (a refused connection, a
  // head too large), which must not flood the log.
  char line[512];
  std::vsnprintf(line, sizeof line, format, ap);
  std::string text(line);
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  spdlog::debug("http: {}", text);
}

} // namespace

struct http_server::impl {
  caf::actor_system& sys;
  http_config cfg;
  http_peers peers;
  metrics& counters;
  const outbox& out;
  std::map<std::string, std::function<reply(const web::params&)>> api;
  /// Endpoints that may change state: they read a body and check who asks themselves.
  std::map<std::string, std::function<reply(const web_request&)>> actions;
  web::session_store sessions;
  std::unique_ptr<web_users> users; ///< the page's users (master.db), for sign-in by password
  std::optional<mod_identity> mod; ///< set by start() when cfg.mod_zip names one
  std::string mod_bytes;

  MHD_Daemon* daemon = nullptr;
  std::atomic<bool> polling{false};
  int wake_fd = -1; ///< an eventfd: a worker has resumed a connection, or stop()
  std::unordered_map<MHD_Connection*, watch> watches; ///< the polling thread's only

  std::vector<std::thread> workers;
  std::mutex jobs_mutex;
  std::condition_variable jobs_ready;
  std::deque<job> jobs; ///< at most one per connection: a connection waits for its reply
  bool workers_stop = false;

  impl(caf::actor_system& s, http_config c, http_peers p, metrics& m, const outbox& o)
    : sys(s), cfg(std::move(c)), peers(std::move(p)), counters(m), out(o) {
    api["/api/instances"] = [this](const web::params& q) { return api_instances(q); };
    api["/api/storage"] = [this](const web::params& q) { return api_storage(q); };
    api["/api/stats"] = [this](const web::params& q) { return api_stats(q); };
    api["/api/ups"] = [this](const web::params& q) { return api_ups(q); };
    api["/api/health"] = [this](const web::params&) { return api_health(); };
    api["/api/audit"] = [this](const web::params& q) { return api_audit(q); };
    api["/api/mod"] = [this](const web::params&) { return api_mod(); };
    actions["/api/session"] = [this](const web_request& r) { return api_session(r); };
    actions["/api/commands"] = [this](const web_request& r) { return api_commands(r); };
    api["/metrics"] = [this](const web::params&) { return prometheus(); };
  }

  /// Asks `whom` and waits up to ask_timeout; a failure names who did not answer and why.
  template <class T, class Handle, class... Ts> result<T> ask(const char* who, const Handle& whom, Ts&&... xs) {
    std::optional<result<T>> answer;
    caf::scoped_actor self{sys};
    self->request(whom, ask_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& v) { answer.emplace(std::move(v)); },
               [&](caf::error& e) { answer.emplace(failure(std::string(who) + " did not answer: " + sys.render(e))); });
    return std::move(*answer);
  }

  std::string mod_url() const { return "/mod/" + mod->file; }

  /// The mod zip this master serves: what game clients download and slaves compare theirs with.
  reply api_mod() const {
    if (!mod)
      return json_reply({{"error", "this master serves no mod zip (none was found with it: build the mod, or install the package)"}}, 404);
    return json_reply({{"name", "clusterio"}, {"version", mod->version}, {"file", mod->file}, {"sha256", mod->sha256}, {"size", mod->size},
                       {"url", mod_url()}});
  }

  // ---- sign-in and commands (docs/webui.md, "Signing in and commands") ----

  /// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page
  /// sends it), Secure behind a TLS proxy; Max-Age 0 ends it.
  static std::string session_cookie_header(const std::string& token, std::uint64_t max_age_s, bool https) {
    return std::string(web::session_cookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s) +
           (https ? "; Secure" : "");
  }

  /// Who sent `r` ("web" for the admin token, else the session's user), if they may: the admin
  /// token, or a live session (an admin's when `need_admin`), whose CSRF token the request must
  /// carry when it `changes` state (reading admin-only results needs none). The refusal
  /// otherwise.
  std::variant<std::string, reply> caller(const web_request& r, bool need_admin, bool changes) {
    if (r.admin_token)
      return std::string("web");
    auto s = live_session(r.session_token);
    if (!s)
      return json_reply({{"error", "sign in first (POST /api/session), or send Authorization: Bearer <admin token>"}}, 401);
    if (need_admin && !s->admin)
      return json_reply({{"error", "'" + s->who + "' is a viewer: this needs an admin"}}, 403);
    if (changes && !web::same_secret(r.csrf, s->csrf))
      return json_reply({{"error", "missing or wrong X-CSRF-Token header (GET /api/session gives the session's)"}}, 403);
    return s->who;
  }
  std::optional<reply> not_admin(const web_request& r, bool changes = true) {
    auto who = caller(r, true, changes);
    if (auto* refused = std::get_if<reply>(&who))
      return std::move(*refused);
    return std::nullopt;
  }

  /// The live session of `token`, as its user stands now: a web user removed since (or whose
  /// role cannot be read) is signed out, one whose role changed has the new one.
  std::optional<web::session_store::session> live_session(const std::string& token) {
    auto s = sessions.find(token, cfg.time->epoch_ms());
    if (!s || !s->web_user)
      return s;
    auto role = users ? users->role_of(s->who) : result<std::optional<web_role>>(std::optional<web_role>());
    if (!role)
      spdlog::error("http: cannot read web user '{}': {}; their session ends", s->who, role.why());
    if (!role || !*role) {
      sessions.end(token);
      return std::nullopt;
    }
    s->admin = **role == web_role::admin;
    return s;
  }

  /// A session's description, as sign-in and GET /api/session give it.
  static json session_json(const web::session_store::session& s) {
    return {{"signed_in", true}, {"role", s.admin ? "admin" : "viewer"}, {"user", s.who}, {"csrf", s.csrf}, {"expires_ms", s.expires_ms}};
  }

  /// GET: who the page is (not signed in, or the session's user and role with the CSRF token to
  /// send); POST {"token"} (the admin token) or {"user", "password"} (a web user's): sign in;
  /// DELETE: sign out.
  reply api_session(const web_request& r) {
    auto now = cfg.time->epoch_ms();
    if (r.method == MHD_HTTP_METHOD_GET || r.method == MHD_HTTP_METHOD_HEAD) {
      auto s = live_session(r.session_token);
      if (!s)
        return json_reply({{"signed_in", false}, {"role", "viewer"}, {"sign_in_required", cfg.viewers_sign_in}});
      return json_reply(session_json(*s));
    }
    if (r.method == MHD_HTTP_METHOD_POST) {
      auto body = json::parse(r.body, nullptr, false);
      auto text = [&](const char* key) { return body.is_object() && body.contains(key) && body[key].is_string(); };
      bool admin = false, web_user = false;
      std::string who;
      if (text("token")) {
        if (cfg.admin_token.empty() || !web::same_secret(body["token"].get<std::string>(), cfg.admin_token))
          return json_reply({{"error", "wrong admin token"}}, 401);
        admin = true;
        who = "web";
      } else if (text("user") && text("password")) {
        if (!users)
          return json_reply({{"error", "this master has no web users (clusterio-master add-user)"}}, 401);
        auto user = users->check(body["user"].get<std::string>(), body["password"].get<std::string>());
        if (!user)
          return json_reply({{"error", user.why()}}, 401);
        admin = user->role == web_role::admin;
        who = user->name;
        web_user = true;
      } else {
        return json_reply({{"error", "expected {\"token\": \"<admin token>\"} or {\"user\": ..., \"password\": ...}"}}, 400);
      }
      auto started = sessions.start(now, admin, who, web_user);
      auto out = json_reply(session_json({started.csrf, now + web::session_store::lifetime_ms, admin, who, web_user}));
      out.headers.push_back({"Set-Cookie", session_cookie_header(started.token, web::session_store::lifetime_ms / 1000, r.https)});
      return out;
    }
    if (r.method == MHD_HTTP_METHOD_DELETE) {
      auto who = caller(r, false, true);
      if (auto* refused = std::get_if<reply>(&who))
        return std::move(*refused);
      sessions.end(r.session_token);
      auto out = json_reply({{"signed_in", false}, {"role", "viewer"}});
      out.headers.push_back({"Set-Cookie", session_cookie_header("", 0, r.https)});
      return out;
    }
    return json_reply({{"error", "GET, POST (sign in) or DELETE (sign out)"}}, 405);
  }

  /// POST: an instance command (docs/protocol.md §11.9), taken at once (202 with its
  /// command_id); GET ?id=N: where it stands, and its result once its slave answered.
  reply api_commands(const web_request& r) {
    if (r.method == MHD_HTTP_METHOD_GET || r.method == MHD_HTTP_METHOD_HEAD) {
      if (auto refused = not_admin(r, false)) // results may hold console output
        return *refused;
      auto id = web::uint_param(r.query, "id", 0);
      if (!id || *id == 0)
        return json_reply({{"error", id ? std::string("give ?id=<command_id>") : id.why()}}, 400);
      auto st = ask<web_command_state>("commands", peers.commands, web_command_state_atom::value, *id);
      if (!st)
        return unavailable(st.error());
      if (st->state == web_command_state::unknown)
        return json_reply({{"error", "no command " + std::to_string(*id) + " from this page is known (the latest " +
                                       std::to_string(max_web_answers) + " are kept)"}},
                          404);
      if (st->state == web_command_state::pending)
        return json_reply({{"command_id", *id}, {"state", "pending"}});
      auto answer = wire::to_json(st->answer);
      answer["command_id"] = *id;
      answer["state"] = "done";
      return json_reply(answer);
    }
    if (r.method != MHD_HTTP_METHOD_POST)
      return json_reply({{"error", "POST a command, or GET ?id=<command_id>"}}, 405);
    auto who = caller(r, true, true);
    if (auto* refused = std::get_if<reply>(&who))
      return std::move(*refused);
    auto cmd = command_of(r.body);
    if (!cmd)
      return json_reply({{"error", cmd.why()}}, 400);
    auto id = ask<std::uint64_t>("commands", peers.commands, web_command_atom::value, std::get<std::string>(who), *cmd);
    if (!id)
      return unavailable(id.error());
    return json_reply({{"command_id", *id}, {"state", "pending"}}, 202);
  }

  /// A command from a JSON body: the fields of instance_command, checked as the wire checks
  /// them; command_id is made when absent.
  static result<wire::instance_command> command_of(const std::string& body) {
    auto j = json::parse(body, nullptr, false);
    if (!j.is_object())
      return failure("the body must be a JSON object with the fields of instance_command (docs/protocol.md §11.9)");
    if (!j.contains("command_id"))
      j["command_id"] = wire::new_command_id();
    auto m = wire::from_json(wire::instance_command::type, std::move(j));
    if (!m)
      return m.error();
    return std::get<wire::instance_command>(std::move(*m));
  }

  /// The audit log, newest first: admin only (console lines may carry what viewers must not see).
  reply api_audit(const web::params& q) {
    auto limit = web::range_param(q, "limit", default_audit_rows, 1, max_audit_page);
    if (!limit)
      return json_reply({{"error", limit.why()}}, 400);
    auto rows = ask<audit_page>("commands", peers.commands, web_audit_atom::value, *limit);
    if (!rows)
      return unavailable(rows.error());
    json entries = json::array();
    for (auto& r : *rows)
      entries.push_back({{"seq", r.seq},         {"at_ms", r.at_ms},   {"who", r.who},       {"command_id", r.command_id},
                         {"slave", r.slave},     {"action", r.action}, {"name", r.name},     {"detail", r.detail},
                         {"result", r.result},   {"message", r.message}});
    return json_reply({{"now_ms", cfg.time->epoch_ms()}, {"entries", entries}});
  }

  reply api_instances(const web::params& q) {
    auto offset = web::uint_param(q, "offset", 0);
    auto limit = web::range_param(q, "limit", max_instances_page, 1, max_instances_page);
    if (!offset || !limit)
      return json_reply({{"error", offset ? limit.why() : offset.why()}}, 400);
    auto v = ask<web_instances_view>("registry", peers.registry, web_instances_atom::value, *offset, *limit);
    if (!v)
      return unavailable(v.error());
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
    json page = {{"now_ms", cfg.time->epoch_ms()}, {"slaves", slaves}, {"instances", instances}};
    if (v->more)
      page["next"] = *offset + *limit;
    return json_reply(page);
  }

  reply api_storage(const web::params& q) {
    auto rate_minutes = web::uint_param(q, "rate_minutes", default_rate_minutes);
    if (!rate_minutes)
      return json_reply({{"error", rate_minutes.why()}}, 400);
    auto v = ask<web_storage_view>("storage", peers.storage, web_storage_atom::value, *rate_minutes);
    if (!v)
      return unavailable(v.error());
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
    return json_reply({{"now_ms", cfg.time->epoch_ms()},
                    {"rate_minutes", v->rate_minutes},
                    {"reservations", v->reservations},
                    {"reserved_units", v->reserved_units},
                    {"failed", v->failed},
                    {"failure", v->failure},
                    {"items", items}});
  }

  reply api_stats(const web::params& params) {
    auto instance = web::uint_param(params, "instance", 0);
    auto minutes = web::minutes_param(params, "minutes", default_graph_minutes);
    if (!instance || !minutes)
      return json_reply({{"error", instance ? minutes.why() : instance.why()}}, 400);
    web_stats_query q{web::text_param(params, "item"), *instance, *minutes};
    // Here "normal" may be spelled: the page sends back what /api/storage shows.
    if (auto quality = web::text_param(params, "quality"); !quality.empty() && quality != wire::normal_quality) {
      if (auto checked = wire::check_quality(quality); !checked)
        return json_reply({{"error", "quality: " + checked.why()}}, 400);
      q.quality = std::move(quality);
    }
    auto v = ask<web_series>("storage", peers.storage, web_stats_atom::value, q);
    if (!v)
      return unavailable(v.error());
    if (!v->error.empty())
      return json_reply({{"error", "statistics query failed: " + v->error}}, 500);
    json points = json::array();
    for (auto& p : v->points)
      points.push_back({{"minute", p.minute}, {"instance_id", p.instance_id}, {"exported", p.exported}, {"imported", p.imported}});
    return json_reply({{"now_ms", cfg.time->epoch_ms()}, {"bucket_minutes", v->bucket_minutes}, {"points", points}});
  }

  reply api_ups(const web::params& q) {
    auto instance = web::uint_param(q, "instance", 0);
    auto minutes = web::minutes_param(q, "minutes", default_graph_minutes);
    if (!instance || !minutes)
      return json_reply({{"error", instance ? minutes.why() : instance.why()}}, 400);
    auto v = ask<web_ups_series>("registry", peers.registry, web_ups_atom::value, *instance, *minutes);
    if (!v)
      return unavailable(v.error());
    json points = json::array();
    for (auto& p : *v)
      points.push_back({{"minute", p.minute}, {"instance_id", p.instance_id}, {"ups", p.ups}});
    return json_reply({{"now_ms", cfg.time->epoch_ms()}, {"points", points}});
  }

  reply api_health() {
    auto s = ask<web_storage_view>("storage", peers.storage, web_storage_atom::value, std::uint64_t{1});
    auto r = ask<web_instances_view>("registry", peers.registry, web_instances_atom::value, std::uint64_t{0}, std::uint64_t{0});
    json storage = s ? (s->failed ? "failed: " + s->failure : std::string("ok")) : "no answer: " + s.why();
    json registry = r ? std::string("ok") : "no answer: " + r.why();
    bool ok = s && !s->failed && r;
    return json_reply({{"ok", ok}, {"storage", storage}, {"registry", registry}}, ok ? 200 : 503);
  }

  reply prometheus() {
    auto s = ask<web_storage_view>("storage", peers.storage, web_storage_atom::value, std::uint64_t{1});
    if (!s)
      return unavailable(s.error());
    auto r = ask<web_instances_view>("registry", peers.registry, web_instances_atom::value, std::uint64_t{0}, UINT64_MAX);
    if (!r)
      return unavailable(r.error());
    std::optional<signal_bus_stats> sig;
    if (peers.signal_bus) {
      auto stats = ask<signal_bus_stats>("signal bus", peers.signal_bus, sig_stats_atom::value);
      if (!stats)
        return unavailable(stats.error());
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
    e.single("clusterio_storage_commits_total", "counter", "Storage transactions committed (durability full: one fsync each).",
             load(counters.storage_commits));
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
      per_channel("clusterio_signal_channel_frames_total", "counter", "Signal frames taken into the channel's sum (and published on signal-src/).",
                  &signal_channel_stats::accepted);
      per_channel("clusterio_signal_channel_sums_total", "counter", "Sums of the channel published on signal/ (changes, coalesced; republications; snapshots).",
                  &signal_channel_stats::published);
      per_channel("clusterio_signal_channel_sum_signals", "gauge", "Distinct signals in the channel's sum.", &signal_channel_stats::sum_signals);
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
      e.sample("clusterio_signal_refused_total", sig->refused_sum, "bound=\"max_sum\"");
    }
    e.single("clusterio_outbox_dropped_total", "counter", "Replies and bus messages dropped because the outbox was full.", out.dropped());
    e.single("clusterio_http_requests_total", "counter", "HTTP requests served by the web interface.", load(counters.http_requests));
    e.single("clusterio_http_errors_total", "counter", "HTTP requests answered with a 5xx status.", load(counters.http_errors));
    return {200, e.str(), "text/plain; version=0.0.4; charset=utf-8"};
  }

  // ---- the polling thread: libmicrohttpd's callbacks all run on it ----

  /// Queues `r` as the reply to the request on `c`.
  MHD_Result send(MHD_Connection* c, exchange& ex, reply r) {
    metrics::bump(&counters.http_requests);
    if (r.status >= 500)
      metrics::bump(&counters.http_errors);
    auto* body = new std::string(std::move(r.body));
    auto* res = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), [](void* b) { delete static_cast<std::string*>(b); }, body);
    for (auto& [name, value] : security_headers)
      MHD_add_response_header(res, name, value);
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, r.type.c_str());
    for (auto& [name, value] : r.headers)
      MHD_add_response_header(res, name.c_str(), value.c_str());
    // The unread body must not be taken for the next request on the connection.
    if (ex.body_declared && !ex.reads_body)
      MHD_add_response_header(res, MHD_HTTP_HEADER_CONNECTION, "close");
    auto queued = MHD_queue_response(c, static_cast<unsigned>(r.status), res);
    MHD_destroy_response(res);
    ex.sent = true;
    return queued;
  }

  reply static_file_reply(const static_file& f) {
    auto body = read_whole(cfg.webui_dir + "/" + f.file);
    if (!body)
      return {404, std::string("missing ") + f.file + " in " + cfg.webui_dir + " (run scripts/setup for node_modules)", "text/plain"};
    return {200, std::move(*body), f.type};
  }

  /// Whether the request carries `Authorization: Bearer <admin token>`.
  bool has_admin_token(MHD_Connection* c) const {
    auto* auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const std::string bearer = "Bearer ";
    std::string given = auth ? auth : "";
    return !cfg.admin_token.empty() && given.compare(0, bearer.size(), bearer) == 0 && web::same_secret(given.substr(bearer.size()), cfg.admin_token);
  }

  /// The live session the request's cookie names, if any.
  std::optional<web::session_store::session> session_of(MHD_Connection* c) {
    auto* cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
    if (!cookie)
      return std::nullopt;
    return live_session(web::session_token_in(cookie));
  }
  bool signed_in_admin(MHD_Connection* c) {
    auto s = session_of(c);
    return s && s->admin;
  }

  /// What the head alone decides, before any route: limits and the admin token.
  std::optional<reply> refusal(MHD_Connection* c, const std::string& url, const std::string& method, exchange& ex) {
    if (MHD_get_connection_values(c, MHD_HEADER_KIND, nullptr, nullptr) > static_cast<int>(max_header_fields))
      return json_reply({{"error", "more than " + std::to_string(max_header_fields) + " header fields"}}, 431);
    // Only the endpoints in `actions` read a body. One over the limit is refused whatever the
    // method and before the token check; a chunked one has no length to check before it is read.
    bool chunked = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr;
    std::uint64_t length = 0;
    if (auto* text = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
      auto end = text + std::strlen(text);
      if (std::from_chars(text, end, length).ptr != end)
        length = UINT64_MAX; // libmicrohttpd refuses it before this; never take it for "none"
    }
    ex.body_declared = chunked || length > 0;
    if (chunked)
      return json_reply({{"error", "a request body needs a Content-Length"}}, 411);
    auto body_limit = url == "/api/commands" && (has_admin_token(c) || signed_in_admin(c)) ? max_command_body : max_request_body;
    if (length > body_limit)
      return json_reply({{"error", "request body over " + std::to_string(body_limit / 1024) + " KiB"}}, 413);
    if (actions.count(url)) { // each decides who may do what (sign-in, session, CSRF)
      ex.reads_body = true;
      return std::nullopt;
    }
    bool reads = method == MHD_HTTP_METHOD_GET || method == MHD_HTTP_METHOD_HEAD;
    if (reads && cfg.viewers_sign_in && api.count(url) && !open_to_all.count(url) && !has_admin_token(c) && !session_of(c))
      return json_reply({{"error", "this master shows the cluster to signed-in users only: sign in (POST /api/session)"}}, 401);
    if (reads && !admin_only.count(url))
      return std::nullopt;
    if (reads && signed_in_admin(c)) // reading needs no CSRF token
      return std::nullopt;
    if (!has_admin_token(c))
      return json_reply({{"error", "this needs the admin token (Authorization: Bearer <token>)"}}, 401);
    if (reads)
      return std::nullopt;
    return json_reply({{"error", "this endpoint only reads (GET)"}}, 405);
  }

  /// Called for each request several times: when its head is in (`*context` still null), when
  /// it is complete, and after a worker has answered it.
  MHD_Result on_request(MHD_Connection* c, const char* url, const char* method, const char* upload_data, std::size_t* upload_size,
                        void** context) {
    auto* ex = static_cast<exchange*>(*context);
    if (!ex) {
      ex = new exchange;
      *context = ex; // deleted in on_completed
      if (auto w = watches.find(c); w != watches.end())
        w->second.deadline.reset();
      if (auto refused = refusal(c, url, method, *ex))
        return send(c, *ex, std::move(*refused));
      // A reply queued now closes the connection (libmicrohttpd does so for a request that is
      // not complete yet), which a request with a body must do anyway. Without one, wait for
      // the next call, when the request is complete, so the connection can be kept.
      if (!ex->body_declared || ex->reads_body)
        return MHD_YES;
      return answer(c, *ex, url, method);
    }
    if (ex->reads_body && *upload_size > 0) { // within max_request_body: the head said so
      ex->body.append(upload_data, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    *upload_size = 0; // a body not read: the reply closes the connection
    if (ex->sent)
      return MHD_YES;
    if (ex->answer)
      return send(c, *ex, std::move(*ex->answer));
    return ex->waiting ? MHD_YES : answer(c, *ex, url, method);
  }

  /// Serves a file or hands the request to a worker.
  MHD_Result answer(MHD_Connection* c, exchange& ex, const std::string& path, const std::string& method) {
    for (auto& f : static_files)
      if (path == f.url)
        return send(c, ex, static_file_reply(f));
    if (mod && path == mod_url())
      return send(c, ex, {200, mod_bytes, "application/zip"});
    web::params query;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_param, &query);
    if (auto action = actions.find(path); action != actions.end()) {
      auto header = [c](const char* name) {
        auto* v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
        return std::string(v ? v : "");
      };
      web_request r{method, std::move(query), std::move(ex.body), web::session_token_in(header(MHD_HTTP_HEADER_COOKIE)), header("X-CSRF-Token"),
                    has_admin_token(c), header("X-Forwarded-Proto") == "https"};
      return hand_over(c, ex, [handler = action->second, r = std::move(r)] { return handler(r); });
    }
    auto route = api.find(path);
    if (route == api.end())
      return send(c, ex, json_reply({{"error", "no such page: " + path}}, 404));
    return hand_over(c, ex, [handler = route->second, query = std::move(query)] { return handler(query); });
  }

  /// A request for a worker: its connection waits, suspended, for the answer.
  MHD_Result hand_over(MHD_Connection* c, exchange& ex, std::function<reply()> work) {
    ex.waiting = true;
    {
      std::lock_guard lock(jobs_mutex);
      jobs.push_back({c, &ex, std::move(work)});
    }
    jobs_ready.notify_one();
    MHD_suspend_connection(c);
    return MHD_YES;
  }

  void on_completed(MHD_Connection* c, void** context) {
    delete static_cast<exchange*>(*context);
    *context = nullptr;
    if (auto w = watches.find(c); w != watches.end())
      w->second.deadline = std::chrono::steady_clock::now() + request_deadline;
  }

  void on_connection(MHD_Connection* c, MHD_ConnectionNotificationCode what) {
    if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
      watches.erase(c);
      return;
    }
    auto* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    watches[c] = {info ? info->connect_fd : -1, std::chrono::steady_clock::now() + request_deadline};
  }

  /// Closes the connections whose request is late. They are the polling thread's, so their
  /// sockets are still open here; shutdown() makes libmicrohttpd see the end and close them.
  void cut_late_requests() {
    auto now = std::chrono::steady_clock::now();
    for (auto& [c, w] : watches)
      if (w.deadline && *w.deadline < now && w.fd >= 0) {
        ::shutdown(w.fd, SHUT_RDWR);
        w.deadline.reset();
      }
  }

  /// Waits for libmicrohttpd's sockets (its epoll set), a worker's wake-up or a timeout, then
  /// lets it work. libmicrohttpd does not wake a wait of its own when a worker resumes a
  /// connection from another thread, hence the eventfd.
  void poll() {
    auto* info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    pollfd fds[2] = {{info->epoll_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    while (polling.load()) {
      MHD_UNSIGNED_LONG_LONG wait = poll_ms, due = 0;
      if (MHD_get_timeout(daemon, &due) == MHD_YES)
        wait = std::min(wait, due);
      ::poll(fds, 2, static_cast<int>(wait));
      if (fds[1].revents & POLLIN) {
        std::uint64_t wakes;
        [[maybe_unused]] auto n = ::read(wake_fd, &wakes, sizeof wakes);
      }
      MHD_run(daemon);
      cut_late_requests();
    }
  }

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  // ---- workers ----

  void work() {
    for (;;) {
      std::unique_lock lock(jobs_mutex);
      jobs_ready.wait(lock, [this] { return workers_stop || !jobs.empty(); });
      if (jobs.empty())
        return;
      auto j = std::move(jobs.front());
      jobs.pop_front();
      bool stopping = workers_stop;
      lock.unlock();
      j.ex->answer = stopping ? json_reply({{"error", "the master is stopping"}}, 503) : j.work();
      MHD_resume_connection(j.connection);
      wake();
    }
  }
};

result<std::string> load_or_create_admin_token(const std::string& data_dir) {
  auto path = data_dir + "/admin.token";
  auto token = random_hex(32);
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
  if (!g.cfg.mod_zip.empty()) {
    auto zip = read_mod_zip(g.cfg.mod_zip);
    if (!zip)
      return zip.error().in("the mod zip to serve");
    g.mod = std::move(zip->first);
    g.mod_bytes = std::move(zip->second);
  }
  if (!g.cfg.db_path.empty()) {
    auto users = web_users::open(g.cfg.db_path);
    if (!users)
      return users.error().in("the web users");
    g.users = std::move(*users);
  }
  auto where = g.cfg.bind + ":" + std::to_string(g.cfg.port);
  addrinfo hints{};
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(g.cfg.bind.c_str(), std::to_string(g.cfg.port).c_str(), &hints, &found); rc != 0)
    return failure("cannot bind the web interface to " + where + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> address(found, ::freeaddrinfo);
  // An IPv6 address ("::") takes IPv4 too, as the other sockets do.
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (found->ai_family == AF_INET6)
    flags |= MHD_USE_DUAL_STACK;
  using access_handler = MHD_Result (*)(void*, MHD_Connection*, const char*, const char*, const char*, const char*, std::size_t*, void**);
  access_handler on_request = [](void* cls, MHD_Connection* c, const char* url, const char* method, const char*, const char* upload_data,
                                 std::size_t* upload_size, void** context) {
    return static_cast<impl*>(cls)->on_request(c, url, method, upload_data, upload_size, context);
  };
  MHD_RequestCompletedCallback on_completed = [](void* cls, MHD_Connection* c, void** context, MHD_RequestTerminationCode) {
    static_cast<impl*>(cls)->on_completed(c, context);
  };
  MHD_NotifyConnectionCallback on_connection = [](void* cls, MHD_Connection* c, void**, MHD_ConnectionNotificationCode what) {
    static_cast<impl*>(cls)->on_connection(c, what);
  };
  g.daemon = MHD_start_daemon(flags, static_cast<std::uint16_t>(g.cfg.port), nullptr, nullptr, on_request, &g,
                              MHD_OPTION_SOCK_ADDR, found->ai_addr,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory,
                              MHD_OPTION_CONNECTION_LIMIT, max_connections,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, max_connections_per_ip,
                              MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout_s,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, &g,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, &g,
                              MHD_OPTION_EXTERNAL_LOGGER, log_from_mhd, nullptr,
                              MHD_OPTION_END);
  if (!g.daemon)
    return failure("cannot bind the web interface to " + where);
  auto* bound = MHD_get_daemon_info(g.daemon, MHD_DAEMON_INFO_BIND_PORT);
  port_ = bound ? bound->port : g.cfg.port;
  g.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (g.wake_fd < 0) {
    MHD_stop_daemon(std::exchange(g.daemon, nullptr));
    return failure(std::string("web interface: eventfd: ") + std::strerror(errno));
  }
  for (std::size_t i = 0; i < http_workers; ++i)
    g.workers.emplace_back([&g] { g.work(); });
  g.polling = true;
  thread_ = std::thread([&g] { g.poll(); });
  return done();
}

void http_server::stop() {
  auto& g = *impl_;
  if (!g.daemon)
    return;
  // The polling thread first, so that no job comes after the workers; then the workers, which
  // answer what is left (503) and resume every suspended connection, as libmicrohttpd requires
  // before it stops.
  g.polling = false;
  g.wake();
  thread_.join();
  {
    std::lock_guard lock(g.jobs_mutex);
    g.workers_stop = true;
  }
  g.jobs_ready.notify_all();
  for (auto& w : g.workers)
    w.join();
  g.workers.clear();
  MHD_stop_daemon(std::exchange(g.daemon, nullptr));
  ::close(std::exchange(g.wake_fd, -1));
}

} // namespace clusterio

#include "actors/master/gateway.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "store/allow_list.hpp"
#include "control/instance_owners.hpp"
#include "actors/master/jobs.hpp"
#include "control/metrics.hpp"
#include "common/clock.hpp"
#include "common/outbox.hpp"
#include "common/zmq_endpoint.hpp"
#include "messages/batch.hpp"

namespace clusterio {

namespace {

using wire::error_code;

/// Messages taken from the ROUTER per sweep before the jobs are handed to the actors: large
/// enough to batch well under load, small enough to keep latency low. A batch frame counts its
/// messages (and is never split: a sweep may end up to max_batch_messages - 1 past this).
constexpr std::size_t max_messages_per_sweep = 2048;
/// ZeroMQ drops (disconnects) peers sending frames larger than this; frames between
/// max_request_bytes and this get an `invalid` reply.
constexpr std::int64_t zmq_max_message = 4 * static_cast<std::int64_t>(wire::max_request_bytes);
/// How often the gateway checks whether the allow-list changed (a new or revoked client), besides
/// when an unknown key knocks. The check is one cheap PRAGMA.
constexpr std::uint64_t allow_list_check_ms = 1000;
/// A slave's traffic is reported to the registry at most this often.
constexpr std::uint64_t seen_report_ms = 1000;
constexpr int socket_hwm = 100000;
/// Rate-limit buckets kept before idle (full) ones are forgotten: the names of insecure clients
/// are chosen by the clients, so the table must not grow with them.
constexpr std::size_t max_rate_buckets = 4096;
/// ZeroMQ I/O threads: they do the CURVE encryption, which for the bus is per subscriber (a
/// signal frame fanned out to 100 subscribers is encrypted 100 times); two share that load.
constexpr int zmq_io_threads = 2;
/// Peers remembered as reading batches; past this the set starts again (see note_batch_peer).
constexpr std::size_t max_batch_peers = 4096;

std::string portless(const std::string& endpoint) {
  // "tcp://host:0" asks ZeroMQ for an ephemeral port, which it spells "tcp://host:*".
  if (endpoint.size() > 2 && endpoint.compare(endpoint.size() - 2, 2, ":0") == 0)
    return endpoint.substr(0, endpoint.size() - 1) + "*";
  return endpoint;
}

int bound_port(zmq::socket_t& s) {
  auto ep = s.get(zmq::sockopt::last_endpoint);
  auto colon = ep.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(ep.c_str() + colon + 1);
}

/// What a peer may do.
struct peer {
  std::string name;
  clusterio::role role = role::subscriber;
  bool slave = false, publisher = false, admin = false;
};

peer peer_for(const std::string& name, role r) {
  peer p{name, r};
  p.slave = r == role::slave;
  p.publisher = r == role::slave || r == role::publisher || r == role::admin;
  p.admin = r == role::admin;
  return p;
}

} // namespace

struct gateway::impl {
  gateway_config cfg;
  outbox& out;
  instance_owners& owners;
  gateway_peers peers;
  zmq::context_t ctx{zmq_io_threads};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  zmq::socket_t bus{ctx, zmq::socket_type::xpub};
  zmq::socket_t zap{ctx, zmq::socket_type::rep};
  std::unique_ptr<allow_list> clients;
  std::unordered_map<std::string, allow_list::entry> by_key; ///< Z85 public key -> client
  /// A key left the allow-list (removed, or replaced under its name): the bus's open sessions
  /// are closed so that every subscriber passes the allow-list again (see reopen_bus).
  bool bus_sessions_stale = false;
  std::uint64_t last_check = 0;
  std::unordered_map<std::string, std::string> insecure_names; ///< routing id -> hello name
  std::unordered_map<std::string, std::uint64_t> last_seen_report;
  /// Token bucket per client name (see gateway_config::max_msgs_per_s_per_client).
  struct bucket {
    double tokens = 0;
    std::uint64_t at_ms = 0;
  };
  std::unordered_map<std::string, bucket> buckets;

  /// Routing ids of the peers that sent a batch frame, whose replies go out in batches too.
  std::unordered_set<std::string> batch_peers;
  /// The messages of the frame at hand (kept from frame to frame).
  std::vector<wire::decoded> decoded;

  // Jobs gathered during one sweep.
  export_jobs exports;
  request_jobs requests;
  confirm_jobs confirms;
  signal_frames signals;

  impl(gateway_config c, outbox& o, instance_owners& ow, gateway_peers p) : cfg(std::move(c)), out(o), owners(ow), peers(std::move(p)) {}

  void reload_clients() {
    auto all = clients->load();
    if (!all) {
      spdlog::error("gateway: cannot read the allow-list: {}", all.why());
      return;
    }
    std::unordered_map<std::string, allow_list::entry> now;
    for (auto& e : *all)
      now[e.public_key] = e;
    for (auto& [key, e] : by_key)
      if (!now.count(key))
        bus_sessions_stale = true;
    by_key = std::move(now);
  }

  /// The control socket checks the sender's key on every frame; the bus (PUB) cannot, so a
  /// subscriber whose key was revoked would go on receiving on the connection it opened
  /// before. Unbinding closes every connection the bus accepted; binding again at once lets
  /// the subscribers' SUB sockets reconnect (ZeroMQ does it by itself, with their
  /// subscriptions), each through the CURVE handshake and the allow-list. The bus is latest
  /// state: a reconnecting subscription gets the snapshots it gets on first subscribing.
  /// False if the port could not be bound again (tried again on the next check).
  bool reopen_bus() {
    auto endpoint = bus.get(zmq::sockopt::last_endpoint); // the port actually bound
    try {
      bus.unbind(endpoint);
    } catch (const zmq::error_t& e) {
      // ENOENT: unbound already, by an earlier try whose bind failed; bind below.
      if (e.num() != ENOENT) {
        spdlog::error("gateway: cannot close the bus's connections at {}: {}", endpoint, e.what());
        return false;
      }
    }
    // The listener closes on a ZeroMQ I/O thread: the port can be busy for a moment.
    for (int attempt = 0; attempt < 100; ++attempt) {
      try {
        bus.bind(endpoint);
        spdlog::info("gateway: a client left the allow-list; the bus's subscribers reconnect, each checked again");
        return true;
      } catch (const zmq::error_t& e) {
        if (e.num() != EADDRINUSE) {
          spdlog::critical("gateway: cannot bind the bus at {} again: {}", endpoint, e.what());
          return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    spdlog::critical("gateway: cannot bind the bus at {} again: the port stayed in use for 1 s", endpoint);
    return false;
  }

  void send_reply(const std::string& rid, std::uint64_t id, wire::message m) {
    send_raw(rid, wire::encode({id, std::move(m)}));
  }

  void send_raw(std::string_view rid, std::string_view payload) {
    try {
      if (!router.send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return; // peer's queue full: dropped; its request times out and is retried
      router.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      // EHOSTUNREACH: the peer is gone (ROUTER_MANDATORY). Its next session resyncs.
      spdlog::debug("gateway: reply dropped: {}", e.what());
    }
  }

  void reply_error(const std::string& rid, std::uint64_t id, error_code code, std::string why, std::string field = {}) {
    if (cfg.counters)
      metrics::bump(&cfg.counters->gateway_errors);
    send_reply(rid, id, wire::make_error(code, std::move(why), std::move(field)));
  }

  /// Who may complete this CURVE handshake: status "200" and the client's key as its user id,
  /// or a refusal. The key, not the name: a key replaced under the same name (add-slave
  /// --replace) is then refused on connections it opened before, as a removed one is.
  void decide_zap(const std::vector<zmq::message_t>& req, std::string& status, std::string& text, std::string& user) {
    if (req.size() >= 7 && req[5].to_string() == "CURVE" && req[6].size() == 32) {
      char z85[41];
      zmq_z85_encode(z85, static_cast<const std::uint8_t*>(req[6].data()), 32);
      auto it = by_key.find(z85);
      if (it == by_key.end() && clients->changed()) {
        reload_clients();
        it = by_key.find(z85);
      }
      if (it != by_key.end()) {
        status = "200";
        text = "OK";
        user = z85;
      } else {
        spdlog::warn("gateway: refused unknown CURVE key {} from {}", z85, req[3].to_string());
      }
    }
  }

  void handle_zap() {
    while (true) {
      std::vector<zmq::message_t> req;
      if (!zmq::recv_multipart(zap, std::back_inserter(req), zmq::recv_flags::dontwait))
        return;
      // A REP socket must answer every request before it can receive the next: a malformed
      // one gets a refusal too, or the ZAP socket (and with it every new CURVE handshake)
      // would be stuck.
      std::string status = "400", text = "unknown key", user;
      try {
        decide_zap(req, status, text, user);
      } catch (const std::exception& e) {
        // Answered all the same, below, for the same reason.
        status = "500";
        text = "internal error";
        user.clear();
        spdlog::error("gateway: ZAP request: {}", e.what());
      }
      auto request_id = req.size() >= 2 ? zmq::buffer(req[1].data(), req[1].size()) : zmq::const_buffer{};
      std::array<zmq::const_buffer, 6> rep{zmq::buffer(std::string_view("1.0")), request_id,
                                           zmq::buffer(status), zmq::buffer(text), zmq::buffer(user), zmq::const_buffer{}};
      zmq::send_multipart(zap, rep);
    }
  }

  void handle_bus_subscriptions() {
    zmq::message_t m;
    while (bus.recv(m, zmq::recv_flags::dontwait)) {
      auto* p = static_cast<const char*>(m.data());
      if (m.size() >= 1 && p[0] == 1) {
        std::string_view topic(p + 1, m.size() - 1);
        if (std::string_view(wire::topic_inventory).substr(0, topic.size()) == topic)
          caf::anon_send(peers.storage, publish_full_atom::value);
        // A subscription covering signal topics: the bus republishes the current frames.
        auto signal_prefix = wire::topic_signal_prefix;
        if (peers.signal_bus && (signal_prefix.substr(0, topic.size()) == topic || topic.substr(0, signal_prefix.size()) == signal_prefix))
          caf::anon_send(peers.signal_bus, sig_snap_atom::value, std::string(topic));
      }
    }
  }

  /// Who sent this frame, and what may they do? Empty name: refused.
  peer identify(const std::string& rid, zmq::message_t& payload) {
    if (cfg.insecure) {
      // The name from hello, else the one in a routing id of the form "<name>.<pid>" (a slave
      // sets it so that it keeps its name across a master restart), else "anonymous".
      auto it = insecure_names.find(rid);
      auto dot = rid.rfind('.');
      auto prefix = dot == std::string::npos ? std::string() : rid.substr(0, dot);
      std::string name = it != insecure_names.end() ? it->second : wire::check_label(prefix) ? prefix : "anonymous";
      return peer{name, role::admin, true, true, true}; // everything, as a slave too
    }
    const char* key = zmq_msg_gets(payload.handle(), "User-Id");
    if (!key)
      return {};
    auto it = by_key.find(key);
    if (it == by_key.end())
      return {};
    return peer_for(it->second.name, it->second.role);
  }

  void report_seen(const std::string& slave) {
    auto now = mono_ms();
    auto& last = last_seen_report[slave];
    if (now - last >= seen_report_ms) {
      last = now;
      caf::anon_send(peers.registry, seen_atom::value, slave);
    }
  }

  /// Takes a token from the client's bucket. False: the client is over its rate limit.
  bool admit(const std::string& name) {
    const double rate = cfg.max_msgs_per_s_per_client;
    if (rate <= 0)
      return true;
    auto now = mono_ms();
    auto it = buckets.find(name);
    if (it == buckets.end()) {
      if (buckets.size() >= max_rate_buckets) {
        for (auto b = buckets.begin(); b != buckets.end();)
          b = static_cast<double>(now - b->second.at_ms) >= 1000.0 ? buckets.erase(b) : std::next(b);
        if (buckets.size() >= max_rate_buckets)
          buckets.clear(); // all busy at once: forgetting them only grants a fresh burst
      }
      it = buckets.emplace(name, bucket{rate, now}).first;
    }
    auto& b = it->second;
    b.tokens = std::min(rate, b.tokens + static_cast<double>(now - b.at_ms) * rate / 1000.0);
    b.at_ms = now;
    if (b.tokens < 1.0)
      return false;
    b.tokens -= 1.0;
    return true;
  }

  /// Checks that `who` runs instance `id`. Replies with an error and returns false otherwise.
  bool owns(const peer& who, std::uint64_t id, const std::string& rid, std::uint64_t req) {
    auto owner = owners.owner(id);
    if (!owner) {
      reply_error(rid, req, error_code::not_found, "unknown instance " + std::to_string(id) + "; register it first", "instance_id");
      return false;
    }
    if (*owner != who.name) {
      reply_error(rid, req, error_code::unauthorized, "instance " + std::to_string(id) + " belongs to another slave", "instance_id");
      return false;
    }
    return true;
  }

  /// One frame from the ROUTER: one message, or a batch of them (each handled alone, as if it
  /// had come in a frame of its own). Returns how many messages it held (at least 1).
  std::size_t handle_frame(const std::string& rid, zmq::message_t& payload) {
    if (payload.size() > wire::max_request_bytes) {
      if (cfg.counters)
        metrics::bump(&cfg.counters->bad_frames);
      reply_error(rid, 0, error_code::invalid, "frame larger than " + std::to_string(wire::max_request_bytes) + " bytes", "(frame)");
      return 1;
    }
    auto who = identify(rid, payload);
    if (wire::decode_frame(payload.to_string_view(), decoded)) {
      note_batch_peer(rid);
      if (cfg.counters)
        metrics::bump(&cfg.counters->batch_frames);
    }
    for (auto& dec : decoded)
      handle_message(rid, who, dec);
    return decoded.size();
  }

  /// A peer that sends batches reads them: its replies go out in batches (drain_outbox).
  void note_batch_peer(const std::string& rid) {
    if (batch_peers.size() >= max_batch_peers && !batch_peers.count(rid))
      batch_peers.clear(); // those forgotten get single replies until their next batch
    batch_peers.insert(rid);
  }

  void handle_message(const std::string& rid, peer& who, wire::decoded& dec) {
    if (who.name.empty())
      return reply_error(rid, dec.id, error_code::unauthorized, "unknown or revoked client");
    if (!admit(who.name)) {
      if (cfg.counters)
        metrics::bump(&cfg.counters->throttled_frames);
      return reply_error(rid, dec.id, error_code::overloaded,
                         "client '" + who.name + "' is over its limit of " + std::to_string(cfg.max_msgs_per_s_per_client) +
                           " messages per second; back off and retry");
    }
    if (cfg.counters)
      metrics::bump(dec.ok ? &cfg.counters->messages_received[dec.value.body.index()] : &cfg.counters->bad_frames);
    if (!dec.ok) {
      spdlog::warn("gateway: bad frame from '{}': {}", who.name, dec.err.to_string());
      return reply_error(rid, dec.id, dec.err.code, dec.err.message, dec.err.field);
    }
    if (who.slave)
      report_seen(who.name);
    auto id = dec.value.id;
    route to{rid, id};
    auto refuse = [&] {
      reply_error(rid, id, error_code::unauthorized, "a client with role of '" + who.name + "' may not send '" +
                                                       std::string(wire::type_of(dec.value.body)) + "'");
    };
    std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wire::hello>) {
          if (cfg.insecure)
            insecure_names[rid] = m.name, who.name = m.name;
          send_reply(rid, id, wire::welcome{who.name, std::string(to_string(who.role)), cfg.heartbeat_ms, epoch_ms(), /*batch=*/true});
        } else if constexpr (std::is_same_v<T, wire::register_instance>) {
          if (!who.slave)
            return refuse();
          caf::anon_send(peers.registry, register_atom::value, register_job{to, who.name, std::move(m)});
        } else if constexpr (std::is_same_v<T, wire::heartbeat>) {
          if (!who.slave)
            return refuse();
          if (owns(who, m.instance_id, rid, id))
            caf::anon_send(peers.registry, heartbeat_atom::value, to, std::move(m));
        } else if constexpr (std::is_same_v<T, wire::export_batch>) {
          if (!who.slave)
            return refuse();
          if (owns(who, m.instance_id, rid, id))
            exports.push_back({to, std::move(m)});
        } else if constexpr (std::is_same_v<T, wire::request_items>) {
          if (!who.slave)
            return refuse();
          if (owns(who, m.instance_id, rid, id))
            requests.push_back({to, std::move(m)});
        } else if constexpr (std::is_same_v<T, wire::confirm_grants>) {
          if (!who.slave)
            return refuse();
          if (owns(who, m.instance_id, rid, id))
            confirms.push_back({to, std::move(m)});
        } else if constexpr (std::is_same_v<T, wire::resync>) {
          if (!who.slave)
            return refuse();
          if (owns(who, m.instance_id, rid, id))
            caf::anon_send(peers.storage, query_atom::value, query_job{to, std::move(m)});
        } else if constexpr (std::is_same_v<T, wire::reclaim_grant>) {
          if (!who.admin)
            return refuse();
          caf::anon_send(peers.storage, query_atom::value, query_job{to, std::move(m)});
        } else if constexpr (std::is_same_v<T, wire::delete_instance>) {
          if (!who.admin && !(who.slave && owns(who, m.instance_id, rid, id)))
            return who.slave ? void() : refuse();
          caf::anon_send(peers.registry, drop_instance_atom::value, to, m.instance_id);
        } else if constexpr (std::is_same_v<T, wire::signal_frame>) {
          if (!who.publisher)
            return refuse();
          m.source = m.source.empty() ? who.name : who.name + "/" + m.source;
          if (peers.signal_bus)
            signals.push_back(std::move(m)); // the bus orders, stores and publishes it
          else
            out.publish(std::string(wire::topic_signal_prefix) + m.channel, wire::encode({0, m}));
          if (cfg.counters)
            metrics::bump(&cfg.counters->signal_frames);
          send_reply(rid, id, wire::ok{});
        } else if constexpr (std::is_same_v<T, wire::slaves_query>) {
          caf::anon_send(peers.registry, query_atom::value, query_job{to, std::move(m)});
        } else if constexpr (std::is_same_v<T, wire::inventory_query> || std::is_same_v<T, wire::stats_query>) {
          caf::anon_send(peers.storage, query_atom::value, query_job{to, std::move(m)});
        } else {
          reply_error(rid, id, error_code::unsupported, "'" + std::string(T::type) + "' is not a request the master serves", "t");
        }
      },
      dec.value.body);
  }

  /// Hands one kind of job over, and leaves room for as many in the next sweep: under load
  /// sweeps are alike, and growing the vector job by job moved each job several times.
  template <class Handle, class Atom, class Jobs> static void hand_over(const Handle& to, Atom atom, Jobs& jobs) {
    if (jobs.empty())
      return;
    auto n = jobs.size();
    caf::anon_send(to, atom, std::move(jobs));
    jobs = {};
    jobs.reserve(n);
  }

  void flush_jobs() {
    // Requests first: they reach the storage by way of the demand actor, and should arrive there
    // before the storage commits this sweep's exports (see apply_batch in storage.cpp).
    hand_over(peers.demand, request_atom::value, requests);
    hand_over(peers.storage, export_atom::value, exports);
    hand_over(peers.storage, confirm_atom::value, confirms);
    hand_over(peers.signal_bus, signal_atom::value, signals);
  }

  void drain_router() {
    for (std::size_t n = 0; n < max_messages_per_sweep;) {
      zmq::message_t rid, payload;
      if (!router.recv(rid, zmq::recv_flags::dontwait))
        break;
      if (!rid.more()) {
        ++n;
        continue;
      }
      (void)router.recv(payload);
      bool extra = false;
      while (payload.more()) {
        // Not a DEALER speaking our protocol (e.g. a REQ with its empty delimiter): drain it.
        (void)router.recv(payload);
        extra = true;
      }
      if (extra) {
        reply_error(rid.to_string(), 0, error_code::invalid, "one msgpack frame per message expected (use a DEALER socket)", "(frame)");
        ++n;
        continue;
      }
      n += handle_frame(rid.to_string(), payload);
    }
    flush_jobs();
  }

  void drain_outbox() {
    std::vector<outbox::item> items;
    out.drain(items);
    // Replies to a batch peer leave in batches, in the order they were queued; the rest as
    // they come. A batch stays within what a client takes in one frame.
    std::unordered_map<std::string_view, wire::batcher> batches;
    for (auto& it : items) {
      if (it.publish) {
        bus.send(zmq::buffer(it.address), zmq::send_flags::sndmore);
        bus.send(zmq::buffer(it.payload), zmq::send_flags::dontwait);
      } else if (!batch_peers.empty() && batch_peers.count(it.address)) {
        batches.try_emplace(it.address, wire::max_frame_bytes / 2)
          .first->second.add(it.payload, [this, rid = std::string_view(it.address)](std::string_view f) { send_raw(rid, f); });
      } else {
        send_raw(it.address, it.payload);
      }
    }
    for (auto& [rid, b] : batches)
      b.flush([this, rid = rid](std::string_view f) { send_raw(rid, f); });
  }
};

gateway::gateway(gateway_config cfg, outbox& out, instance_owners& owners, gateway_peers peers)
  : impl_(std::make_unique<impl>(std::move(cfg), out, owners, std::move(peers))) {}

gateway::~gateway() { stop(); }

result<void> gateway::start() {
  auto& g = *impl_;
  auto clients = allow_list::open(g.cfg.db_path);
  if (!clients)
    return clients.error();
  g.clients = std::move(*clients);
  g.clients->changed(); // remember the version loaded now
  g.reload_clients();
  try {
    for (auto* s : {&g.router, &g.bus, &g.zap})
      s->set(zmq::sockopt::linger, 0);
    g.router.set(zmq::sockopt::router_mandatory, 1);
    g.router.set(zmq::sockopt::router_handover, 1); // a restarted client takes over its routing id
    g.router.set(zmq::sockopt::maxmsgsize, zmq_max_message);
    g.router.set(zmq::sockopt::rcvhwm, socket_hwm);
    g.router.set(zmq::sockopt::sndhwm, socket_hwm);
    g.bus.set(zmq::sockopt::sndhwm, socket_hwm);
    g.bus.set(zmq::sockopt::xpub_verbose, 1); // every subscription, not just the first: each new subscriber gets its snapshot
    g.bus.set(zmq::sockopt::maxmsgsize, std::int64_t{4096});
    if (!g.cfg.insecure) {
      g.zap.bind("inproc://zeromq.zap.01");
      for (auto* s : {&g.router, &g.bus}) {
        s->set(zmq::sockopt::curve_server, 1);
        s->set(zmq::sockopt::curve_secretkey, g.cfg.master_keys.secret_key);
        s->set(zmq::sockopt::zap_domain, "clusterio");
      }
    }
    allow_ipv6_for(g.router, g.cfg.control_endpoint);
    allow_ipv6_for(g.bus, g.cfg.bus_endpoint);
    g.router.bind(portless(g.cfg.control_endpoint));
    g.bus.bind(portless(g.cfg.bus_endpoint));
  } catch (const zmq::error_t& e) {
    // ZeroMQ takes an unknown address for a network interface's name: "No such device".
    auto hint = e.num() == ENODEV ? " (bind must be an address of this host, such as 0.0.0.0, ::, 127.0.0.1 or ::1)" : "";
    return failure(std::string("cannot bind ") + g.cfg.control_endpoint + " / " + g.cfg.bus_endpoint + ": " + e.what() + hint);
  }
  control_port_ = bound_port(g.router);
  bus_port_ = bound_port(g.bus);
  stop_ = false;
  thread_ = std::thread([this] { run(); });
  return done();
}

void gateway::stop() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

void gateway::run() {
  auto& g = *impl_;
  zmq::pollitem_t items[] = {
    {g.router.handle(), 0, ZMQ_POLLIN, 0},
    {g.bus.handle(), 0, ZMQ_POLLIN, 0},
    {g.zap.handle(), 0, ZMQ_POLLIN, 0},
    {nullptr, g.out.wake_fd(), ZMQ_POLLIN, 0},
  };
  while (!stop_) {
    try {
      zmq::poll(items, 4, std::chrono::milliseconds(100));
      if (items[2].revents & ZMQ_POLLIN)
        g.handle_zap();
      if (items[1].revents & ZMQ_POLLIN)
        g.handle_bus_subscriptions();
      if (items[0].revents & ZMQ_POLLIN)
        g.drain_router();
      g.drain_outbox();
      if (!g.cfg.insecure && mono_ms() - g.last_check > allow_list_check_ms) {
        g.last_check = mono_ms();
        if (g.clients->changed())
          g.reload_clients();
        if (g.bus_sessions_stale && g.reopen_bus())
          g.bus_sessions_stale = false;
      }
    } catch (const std::exception& e) {
      // A bug, not bad input (bad input is answered above): log it and keep serving.
      spdlog::error("gateway: {}", e.what());
    }
  }
}

} // namespace clusterio

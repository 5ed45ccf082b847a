#include "actors/master/gateway.hpp"

#include <algorithm>
#include <array>
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

#include "actors/master/jobs.hpp"
#include "common/clock.hpp"
#include "common/one_shot_timer.hpp"
#include "common/outbox.hpp"
#include "common/zmq_endpoint.hpp"
#include "control/authentication.hpp"
#include "control/bus_subscriptions.hpp"
#include "control/instance_owners.hpp"
#include "control/metrics.hpp"
#include "control/rate_limit.hpp"
#include "control/routing.hpp"
#include "common/warning_limit.hpp"
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
/// Frames ZeroMQ queues per peer: in, on the control socket (then it stops reading that peer);
/// out, replies on the control socket and bus messages per subscriber (then the reply or
/// message is dropped). A peer that reads has a handful waiting; one that does not would hold
/// the master's memory with what waits for it (and stalled_peer_timeout_ms ends it).
constexpr int control_in_hwm = 100000;
constexpr int peer_out_hwm = 1000;
/// ZeroMQ I/O threads: they do the CURVE encryption, which for the bus is per subscriber (a
/// signal frame fanned out to 100 subscribers is encrypted 100 times); two share that load.
constexpr int zmq_io_threads = 2;
/// The bus's limits on what a subscriber sends (see start()): at most 100 subscriptions of at
/// most 1 KiB wait per connection, which ZeroMQ keeps at some 32 bytes per byte: 3 MiB.
constexpr std::int64_t bus_max_message = 1024;
constexpr int bus_subscriptions_queued = 100;
/// The ZAP domains of the two sockets: a key shut out of the bus is still let in on the control socket.
constexpr const char* control_domain = "clusterio";
constexpr const char* bus_domain = "clusterio-bus";
/// A sweep holding this many jobs goes to the actors without gathering more: the hand-over's
/// cost is shared enough, and waiting would only add latency.
constexpr std::size_t gather_enough = 16;
/// Peers remembered as reading batches; past this the set starts again (see note_batch_peer).
constexpr std::size_t max_batch_peers = 4096;
/// What one client's queries (slaves, inventory, statistics) may cost in reply bytes: refilled at
/// 1 MiB a second, holding at most the largest reply. A query is taken while the client
/// is in credit and its reply charged as it goes out. Without it a subscriber asking for a
/// 16 MiB inventory at its message rate kept the storage busy encoding, and whatever it did not
/// read waited in the master's memory.
constexpr double query_reply_bytes_per_s = 1 << 20;
constexpr double query_reply_burst_bytes = wire::max_frame_bytes;
/// Queries of one client, over all its connections, whose replies have not gone out (more are
/// `overloaded`): a reply is charged as it goes, so without this bound a client sending many at
/// once had them all taken before the first was charged (1,280 replies of 8.4 MB, 7.5 GB, in the
/// abuse bench). And how long one counts: a reply the outbox dropped (it was full) never comes.
constexpr std::size_t max_open_queries = 2;
constexpr std::uint64_t open_query_forget_ms = 60000;
/// A connection whose peer takes nothing for this long (what the master sent stays
/// unacknowledged, or the peer's receive window stays shut) is closed, and what waited to be
/// sent on it freed (TCP_USER_TIMEOUT). A peer that stops reading shuts its window once its
/// queues are full; without this, every reply or bus message for it piled up in the master up
/// to the high-water mark. (ZMTP heartbeats do not see it: the PING waits behind the data.)
constexpr int stalled_peer_timeout_ms = 30000;

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

} // namespace

struct gateway::impl {
  gateway_config cfg;
  outbox& out;
  gateway_peers peers;
  zmq::context_t ctx{zmq_io_threads};
  zmq::socket_t control{ctx, zmq::socket_type::router};
  zmq::socket_t bus{ctx, zmq::socket_type::xpub};
  zmq::socket_t zap{ctx, zmq::socket_type::rep};
  std::unique_ptr<authentication> auth; ///< set by start()
  rate_limit limits;
  rate_limit query_replies{query_reply_bytes_per_s, *cfg.time, query_reply_burst_bytes}; ///< bytes, by client name
  /// A query handed to its actor whose reply has not gone out.
  struct open_query {
    std::uint64_t id;   ///< the request's
    std::string client; ///< whose budget its reply is charged to
    std::uint64_t at_ms;
  };
  /// By connection (routing id). Each reply is charged to query_replies as it goes.
  std::unordered_map<std::string, std::vector<open_query>> open_queries;
  std::unordered_map<std::string, std::size_t> open_by_client; ///< how many of them each client has
  warning_limit warnings; ///< of what clients send and keys that knock
  bus_subscriptions subscriptions;
  router routes;
  std::uint64_t last_check = 0;
  std::unordered_map<std::string, std::uint64_t> last_seen_report;

  /// Routing ids of the peers that sent a batch frame, whose replies go out in batches too.
  std::unordered_set<std::string> batch_peers;
  /// The messages of the frame at hand (kept from frame to frame).
  std::vector<wire::decoded> decoded;

  // Commit pacing (gateway_config::gather_us), on the steady clock: a sub-millisecond wait, not
  // a logical time a test would move. Without it, at a real cluster's rate (each frame one
  // message, a frame every few hundred microseconds) every message paid for its own hand-overs,
  // transaction, fsync and the wake-ups of five threads.
  using steady = std::chrono::steady_clock;
  bool gathering = false;       ///< a sweep's jobs wait for more until gather_timer fires
  steady::time_point last_frame; ///< when the control socket last had input
  /// Ends the window (run() polls it): poll's own timeout counts whole milliseconds.
  one_shot_timer gather_timer;

  // Jobs gathered during one sweep.
  export_jobs exports;
  request_jobs requests;
  confirm_jobs confirms;
  signal_jobs signals;

  impl(gateway_config c, outbox& o, instance_owners& owners, gateway_peers p)
    : cfg(std::move(c)), out(o), peers(std::move(p)), limits(cfg.max_msgs_per_s_per_client, *cfg.time), warnings(*cfg.time),
      subscriptions(*cfg.time),
      routes([&owners](std::uint64_t id) { return owners.owner(id); }) {}

  // ---- the actors: everything the gateway sends them ------------------------------------------

  /// A routed message to the actor that serves it (the batched kinds wait for flush_jobs).
  void dispatch(destination d, const std::string& rid, peer& who, wire::frame& f) {
    route to{rid, f.id};
    auto& m = f.body;
    switch (d) {
      case destination::welcome:
        auth->note_hello(rid, std::get<wire::hello>(m).name, who);
        return send_reply(rid, f.id, wire::welcome{who.name, std::string(to_string(who.role)), cfg.heartbeat_ms, cfg.time->epoch_ms(), /*batch=*/true});
      case destination::register_instance:
        return caf::anon_send(peers.registry, register_atom::value, register_job{to, who.name, std::get<wire::register_instance>(std::move(m))});
      case destination::heartbeat:
        return caf::anon_send(peers.registry, heartbeat_atom::value, to, std::get<wire::heartbeat>(std::move(m)));
      case destination::drop_instance:
        return caf::anon_send(peers.registry, drop_instance_atom::value, to, std::get<wire::delete_instance>(m).instance_id);
      case destination::registry_query: return caf::anon_send(peers.registry, query_atom::value, query_job{to, std::move(m)});
      case destination::storage_query: return caf::anon_send(peers.storage, query_atom::value, query_job{to, std::move(m)});
      case destination::exports: return exports.push_back({to, std::get<wire::export_batch>(std::move(m))});
      case destination::requests: return requests.push_back({to, std::get<wire::request_items>(std::move(m))});
      case destination::confirms: return confirms.push_back({to, std::get<wire::confirm_grants>(std::move(m))});
      case destination::signals: return accept_signal(to, who, std::get<wire::signal_frame>(std::move(m)));
      case destination::host_report:
        return caf::anon_send(peers.commands, host_report_atom::value, to, who.name, std::get<wire::host_report>(std::move(m)));
      case destination::command:
        return caf::anon_send(peers.commands, command_atom::value, command_job{to, who.name, std::get<wire::instance_command>(std::move(m))});
      case destination::command_result:
        return caf::anon_send(peers.commands, command_result_atom::value, who.name, std::get<wire::command_result>(std::move(m)));
      case destination::refused: return; // answered by handle_message
    }
  }

  /// Whether a query whose reply can be large (routing_decision::large_reply) may go to its
  /// actor: while the client is in credit (query_replies) and has fewer than max_open_queries
  /// waiting; it is then remembered until its reply is charged. Answers a refusal.
  bool admit_query(const route& to, const peer& who) {
    auto now = cfg.time->mono_ms();
    auto waiting = [&] {
      auto c = open_by_client.find(who.name);
      return c == open_by_client.end() ? 0 : c->second;
    };
    if (waiting() >= max_open_queries)
      forget_old_queries(now);
    std::string refusal;
    if (waiting() >= max_open_queries)
      refusal = std::to_string(max_open_queries) + " queries of client '" + who.name + "' wait for their replies; read them first";
    else if (!query_replies.in_credit(who.name))
      refusal = "the replies to the queries of client '" + who.name + "' came to more than " +
                std::to_string(static_cast<std::uint64_t>(query_reply_bytes_per_s) >> 20) + " MiB a second; ask again in a few seconds";
    if (refusal.empty()) {
      open_queries[to.peer].push_back({to.id, who.name, now});
      ++open_by_client[who.name];
      return true;
    }
    if (cfg.counters)
      metrics::bump(&cfg.counters->throttled_frames);
    reply_error(to.peer, to.id, error_code::overloaded, std::move(refusal));
    return false;
  }

  /// One query less waiting for `client`.
  void close_query(const std::string& client) {
    if (auto c = open_by_client.find(client); c != open_by_client.end() && --c->second == 0)
      open_by_client.erase(c);
  }

  /// Forgets the queries waiting longer than open_query_forget_ms (their replies were dropped).
  void forget_old_queries(std::uint64_t now) {
    for (auto it = open_queries.begin(); it != open_queries.end();) {
      auto& open = it->second;
      for (auto q = open.begin(); q != open.end();)
        if (now - q->at_ms >= open_query_forget_ms) {
          close_query(q->client);
          q = open.erase(q);
        } else {
          ++q;
        }
      it = open.empty() ? open_queries.erase(it) : std::next(it);
    }
  }

  /// Charges a reply going out to `rid` to the client whose query it answers, if it answers one.
  void charge_query_reply(const std::string& rid, std::string_view payload) {
    auto it = open_queries.find(rid);
    if (it == open_queries.end())
      return;
    auto id = wire::readable_id(payload);
    auto& open = it->second;
    auto q = std::find_if(open.begin(), open.end(), [id](const open_query& o) { return o.id == id; });
    if (q == open.end())
      return;
    query_replies.charge(q->client, static_cast<double>(payload.size()));
    close_query(q->client);
    open.erase(q);
    if (open.empty())
      open_queries.erase(it);
  }

  /// The bus orders, bounds, keeps, publishes and answers it.
  void accept_signal(route to, const peer& who, wire::signal_frame m) {
    m.source = m.source.empty() ? who.name : who.name + "/" + m.source;
    signals.push_back({std::move(to), std::move(m)});
    if (cfg.counters)
      metrics::bump(&cfg.counters->signal_frames);
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

  std::size_t jobs_waiting() const { return exports.size() + requests.size() + confirms.size() + signals.size(); }

  void flush_jobs() {
    // Exports before requests: a request is granted from the stock its sweep's exports made.
    // The storage commits once for all three (see apply_batch in storage.cpp).
    hand_over(peers.storage, export_atom::value, exports);
    hand_over(peers.storage, request_atom::value, requests);
    hand_over(peers.storage, confirm_atom::value, confirms);
    hand_over(peers.signal_bus, signal_atom::value, signals);
  }

  void report_seen(const std::string& slave) {
    auto now = cfg.time->mono_ms();
    auto& last = last_seen_report[slave];
    if (now - last >= seen_report_ms) {
      last = now;
      caf::anon_send(peers.registry, seen_atom::value, slave);
    }
  }

  /// A new subscription on the bus: `inventory` gets a full snapshot from the storage, one
  /// covering signal topics a republish of the current sums or frames from the signal bus.
  void snapshot_for(std::string_view topic) {
    if (std::string_view(wire::topic_inventory).substr(0, topic.size()) == topic)
      caf::anon_send(peers.storage, publish_full_atom::value);
    for (auto signal_prefix : {wire::topic_signal_prefix, wire::topic_signal_source_prefix})
      if (signal_prefix.substr(0, topic.size()) == topic || topic.substr(0, signal_prefix.size()) == signal_prefix) {
        caf::anon_send(peers.signal_bus, sig_snap_atom::value, std::string(topic));
        return;
      }
  }

  // ---- the sockets ------------------------------------------------------------------------------

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
        subscriptions.reopened();
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

  void send_reply(const std::string& rid, std::uint64_t id, wire::message m) { send_raw(rid, wire::encode({id, std::move(m)})); }

  void send_raw(std::string_view rid, std::string_view payload) {
    try {
      if (!control.send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return; // peer's queue full: dropped; its request times out and is retried
      control.send(zmq::buffer(payload), zmq::send_flags::dontwait);
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

  void handle_zap() {
    while (true) {
      std::vector<zmq::message_t> req;
      if (!zmq::recv_multipart(zap, std::back_inserter(req), zmq::recv_flags::dontwait))
        return;
      // A REP socket must answer every request before it can receive the next: a malformed
      // one gets a refusal too, or the ZAP socket (and with it every new CURVE handshake)
      // would be stuck.
      authentication::zap_verdict verdict;
      try {
        std::vector<std::string_view> frames;
        for (auto& part : req)
          frames.push_back(part.to_string_view());
        verdict = auth->decide(frames);
        // frames[2]: the domain, which tells the bus from the control socket.
        if (verdict.status == "200" && frames[2] == bus_domain && subscriptions.shut_out(verdict.user_id))
          verdict = {"400", "shut out of the bus for breaking its rules", ""};
      } catch (const std::exception& e) {
        // Answered all the same, below, for the same reason.
        verdict = {"500", "internal error", ""};
        spdlog::error("gateway: ZAP request: {}", e.what());
      }
      auto request_id = req.size() >= 2 ? zmq::buffer(req[1].data(), req[1].size()) : zmq::const_buffer{};
      std::array<zmq::const_buffer, 6> rep{zmq::buffer(std::string_view("1.0")), request_id, zmq::buffer(verdict.status),
                                           zmq::buffer(verdict.text), zmq::buffer(verdict.user_id), zmq::const_buffer{}};
      zmq::send_multipart(zap, rep);
    }
  }

  /// Subscriptions and unsubscriptions from the bus's subscribers; each is checked against the
  /// bus's rules (control/bus_subscriptions.hpp) before a snapshot answers it.
  void handle_bus_subscriptions() {
    zmq::message_t m;
    while (bus.recv(m, zmq::recv_flags::dontwait)) {
      auto message = m.to_string_view();
      // The subscriber's key; in insecure mode, its address. Absent on what ZeroMQ sends itself.
      const char* client = zmq_msg_gets(m.handle(), auth->is_insecure() ? "Peer-Address" : "User-Id");
      if (auto ok = subscriptions.note(client ? client : "", message); !ok) {
        std::string who = client; // a key is named by the allow-list (an address is not)
        if (!auth->is_insecure())
          if (auto named = auth->identify({}, client).name; !named.empty())
            who = named;
        spdlog::warn("gateway: {} is shut out of the bus for {} s: {}", who, bus_subscriptions::ban_ms / 1000, ok.why());
        if (reopen_bus())
          spdlog::info("gateway: the bus's other subscribers reconnect");
        continue;
      }
      if (message.size() >= 1 && message[0] == 1)
        snapshot_for(message.substr(1));
    }
  }

  /// One frame from the ROUTER: one message, or a batch of them (each handled alone, as if it
  /// had come in a frame of its own). Returns how many messages it held (at least 1).
  std::size_t handle_frame(const std::string& rid, zmq::message_t& payload) {
    if (payload.size() > wire::max_request_bytes) {
      if (cfg.counters)
        metrics::bump(&cfg.counters->bad_frames);
      reply_error(rid, wire::readable_id(payload.to_string_view()), error_code::invalid,
                  "frame larger than " + std::to_string(wire::max_request_bytes) + " bytes", "(frame)");
      return 1;
    }
    auto who = auth->identify(rid, auth->is_insecure() ? nullptr : zmq_msg_gets(payload.handle(), "User-Id"));
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
    if (!limits.admit(who.name)) {
      if (cfg.counters)
        metrics::bump(&cfg.counters->throttled_frames);
      return reply_error(rid, dec.id, error_code::overloaded,
                         "client '" + who.name + "' is over its limit of " + std::to_string(cfg.max_msgs_per_s_per_client) +
                           " messages per second; back off and retry");
    }
    if (cfg.counters)
      metrics::bump(dec.ok ? &cfg.counters->messages_received[dec.value.body.index()] : &cfg.counters->bad_frames);
    if (!dec.ok) {
      if (warnings.admit(who.name, "gateway: bad frame"))
        spdlog::warn("gateway: bad frame from '{}': {}", who.name, dec.err.to_string());
      return reply_error(rid, dec.id, dec.err.code, dec.err.message, dec.err.field);
    }
    if (who.may(rights::run_instances))
      report_seen(who.name);
    auto decision = routes.route(who, dec.value.body);
    if (decision.to == destination::refused)
      return reply_error(rid, dec.value.id, decision.refusal.code, std::move(decision.refusal.message), std::move(decision.refusal.field));
    if (decision.large_reply && !admit_query({rid, dec.value.id}, who))
      return;
    dispatch(decision.to, rid, who, dec.value);
  }

  /// Reads what waits on the control socket, then hands the jobs over, unless they should wait for
  /// more (see gateway_config::gather_us): then run() calls it again when the window ends, and
  /// they go whatever came meanwhile.
  void drain_control() {
    std::size_t n = 0;
    while (n < max_messages_per_sweep) {
      zmq::message_t rid, payload;
      if (!control.recv(rid, zmq::recv_flags::dontwait))
        break;
      if (!rid.more()) {
        ++n;
        continue;
      }
      (void)control.recv(payload);
      bool extra = false;
      while (payload.more()) {
        // Not a DEALER speaking our protocol (e.g. a REQ with its empty delimiter): drain it.
        (void)control.recv(payload);
        extra = true;
      }
      if (extra) {
        reply_error(rid.to_string(), 0, error_code::invalid, "one msgpack frame per message expected (use a DEALER socket)", "(frame)");
        ++n;
        continue;
      }
      n += handle_frame(rid.to_string(), payload);
    }
    // Gather while frames come closer together than the window (a lone message goes at once),
    // unless enough jobs already share the hand-over.
    auto now = steady::now();
    auto window = std::chrono::microseconds(cfg.gather_us);
    bool trickling = n > 0 && now - last_frame < window;
    if (n > 0)
      last_frame = now;
    auto waiting = jobs_waiting();
    if (!gathering && trickling && waiting > 0 && waiting < gather_enough) {
      gathering = true;
      gather_timer.arm(window);
      return;
    }
    gathering = false;
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
        continue;
      }
      if (!open_queries.empty())
        charge_query_reply(it.address, it.payload);
      if (!batch_peers.empty() && batch_peers.count(it.address)) {
        batches.try_emplace(it.address, wire::max_frame_bytes / 2)
          .first->second.add(it.payload, [this, rid = std::string_view(it.address)](std::string_view f) { send_raw(rid, f); });
      } else {
        send_raw(it.address, it.payload);
      }
    }
    for (auto& [rid, b] : batches)
      b.flush([this, rid = rid](std::string_view f) { send_raw(rid, f); });
  }

  /// Every allow_list_check_ms: a changed allow-list is reloaded, and a revoked key closes the
  /// bus's connections.
  void check_allow_list() {
    if (cfg.insecure || cfg.time->mono_ms() - last_check <= allow_list_check_ms)
      return;
    last_check = cfg.time->mono_ms();
    auth->check_for_changes();
    if (auth->keys_revoked() && reopen_bus()) {
      spdlog::info("gateway: a client left the allow-list; the bus's subscribers reconnect, each checked again");
      auth->revocations_handled();
    }
  }
};

gateway::gateway(gateway_config cfg, outbox& out, instance_owners& owners, gateway_peers peers)
  : impl_(std::make_unique<impl>(std::move(cfg), out, owners, std::move(peers))) {}

gateway::~gateway() { stop(); }

result<void> gateway::start() {
  auto& g = *impl_;
  if (g.cfg.insecure) {
    g.auth = authentication::insecure();
  } else {
    auto auth = authentication::open(g.cfg.db_path, g.warnings);
    if (!auth)
      return auth.error();
    g.auth = std::move(*auth);
  }
  try {
    for (auto* s : {&g.control, &g.bus, &g.zap})
      s->set(zmq::sockopt::linger, 0);
    g.control.set(zmq::sockopt::router_mandatory, 1);
    g.control.set(zmq::sockopt::router_handover, 1); // a restarted client takes over its routing id
    g.control.set(zmq::sockopt::maxmsgsize, zmq_max_message);
    g.control.set(zmq::sockopt::rcvhwm, control_in_hwm);
    g.control.set(zmq::sockopt::sndhwm, peer_out_hwm);
    g.bus.set(zmq::sockopt::sndhwm, peer_out_hwm);
    g.bus.set(zmq::sockopt::xpub_verbose, 1); // every subscription, not just the first: each new subscriber gets its snapshot
    // What a subscriber sends: its CURVE handshake (a few hundred bytes), then subscriptions,
    // each a byte and a topic prefix. Anything longer makes ZeroMQ drop the connection; a
    // shorter subscription to no topic shuts the subscriber out (control/bus_subscriptions.hpp).
    // ZeroMQ files a connection's subscriptions before the gateway reads them, so few may wait.
    g.bus.set(zmq::sockopt::maxmsgsize, bus_max_message);
    for (auto* s : {&g.control, &g.bus})
      s->set(zmq::sockopt::tcp_maxrt, stalled_peer_timeout_ms);
    g.bus.set(zmq::sockopt::rcvhwm, bus_subscriptions_queued);
    if (!g.cfg.insecure) {
      g.zap.bind("inproc://zeromq.zap.01");
      for (auto* s : {&g.control, &g.bus}) {
        s->set(zmq::sockopt::curve_server, 1);
        s->set(zmq::sockopt::curve_secretkey, g.cfg.master_keys.secret_key);
      }
      g.control.set(zmq::sockopt::zap_domain, control_domain);
      g.bus.set(zmq::sockopt::zap_domain, bus_domain);
    }
    allow_ipv6_for(g.control, g.cfg.control_endpoint);
    allow_ipv6_for(g.bus, g.cfg.bus_endpoint);
    g.control.bind(portless(g.cfg.control_endpoint));
    g.bus.bind(portless(g.cfg.bus_endpoint));
  } catch (const zmq::error_t& e) {
    // ZeroMQ takes an unknown address for a network interface's name: "No such device".
    auto hint = e.num() == ENODEV ? " (bind must be an address of this host, such as 0.0.0.0, ::, 127.0.0.1 or ::1)" : "";
    return failure(std::string("cannot bind ") + g.cfg.control_endpoint + " / " + g.cfg.bus_endpoint + ": " + e.what() + hint);
  }
  control_port_ = bound_port(g.control);
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
    {g.control.handle(), 0, ZMQ_POLLIN, 0},
    {g.bus.handle(), 0, ZMQ_POLLIN, 0},
    {g.zap.handle(), 0, ZMQ_POLLIN, 0},
    {nullptr, g.out.wake_fd(), ZMQ_POLLIN, 0},
    {nullptr, g.gather_timer.fd(), ZMQ_POLLIN, 0},
  };
  while (!stop_) {
    try {
      // While a sweep gathers, the control socket is left alone: what arrives waits in ZeroMQ's
      // queue, waking no one, until the window ends (the timer, items[4]).
      items[0].revents = 0;
      zmq::poll(g.gathering ? items + 1 : items, g.gathering ? 4 : 5, std::chrono::milliseconds(100));
      bool window_ended = items[4].revents & ZMQ_POLLIN;
      if (window_ended)
        g.gather_timer.clear();
      if (items[2].revents & ZMQ_POLLIN)
        g.handle_zap();
      if (items[1].revents & ZMQ_POLLIN)
        g.handle_bus_subscriptions();
      if ((items[0].revents & ZMQ_POLLIN) || window_ended)
        g.drain_control();
      g.drain_outbox();
      g.check_allow_list();
      g.warnings.report_suppressed();
    } catch (const std::exception& e) {
      // A bug, not bad input (bad input is answered above): log it and keep serving.
      spdlog::error("gateway: {}", e.what());
    }
  }
}

} // namespace clusterio

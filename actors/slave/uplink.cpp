#include "actors/slave/uplink.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <unistd.h>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/outbox.hpp"
#include "common/random_hex.hpp"
#include "common/zmq_endpoint.hpp"
#include "messages/batch.hpp"
#include "messages/inventory_parts.hpp"
#include "messages/limits.hpp"

namespace clusterio {

namespace {
/// Calls in flight at most; more are refused at once ("overloaded"): nothing grows unbounded.
constexpr std::size_t max_in_flight = 10000;
/// Frames queued in ZeroMQ towards the master at most.
constexpr int send_hwm = 10000;
constexpr auto sweep_interval = std::chrono::milliseconds(200);
/// While the master does not answer, a hello probes it this often.
constexpr std::uint64_t probe_interval_ms = 1000;
/// A master that does not answer is reported after this long, then this often: a wrong address
/// or a closed port must not go unnoticed while the games run on without it.
constexpr std::uint64_t silent_master_warn_after_ms = 10000;
constexpr std::uint64_t silent_master_warn_every_ms = 300000;
/// Signal channels subscribed to one by one at most; past this the bus is subscribed to all of
/// `signal/` (and frames are still given only to the members that receive their channel), so that
/// a slave stays far below the subscriptions the master allows one client
/// (control/bus_subscriptions.hpp), reconnections included.
constexpr std::size_t max_channel_subscriptions = 64;

/// Internal messages: from the socket thread, and the timer.
using uplink_impl = uplink_actor::extend<caf::reacts_to<frame_in_atom, wire::frame>, caf::reacts_to<bus_atom, std::string, wire::frame>,
                                         caf::reacts_to<sweep_atom>>;
} // namespace

/// Options both sockets towards the master take.
void set_link_options(zmq::socket_t& s, const uplink_config& cfg) {
  s.set(zmq::sockopt::linger, 0);
  // Back off up to 2 s: a master back after a long outage is reached within 2 s (plus the
  // handshake), and a few hundred slaves knocking every 2 s cost a dead master's host nothing.
  s.set(zmq::sockopt::reconnect_ivl, 100);
  s.set(zmq::sockopt::reconnect_ivl_max, 2000);
  // A connection attempt whose SYNs go unanswered (a peer gone without a reset, a full accept
  // queue) is given up after 2 s and made again, rather than after the kernel's two minutes.
  s.set(zmq::sockopt::connect_timeout, 2000);
  // A connection the master went silent on (its host died, the network dropped it without a
  // reset) is closed after 6 s without a ping's answer, and made again; the master's I/O
  // threads answer pings however busy its actors are.
  s.set(zmq::sockopt::heartbeat_ivl, 2000);
  s.set(zmq::sockopt::heartbeat_timeout, 6000);
  if (cfg.cred) {
    s.set(zmq::sockopt::curve_serverkey, cfg.cred->master_public_key);
    s.set(zmq::sockopt::curve_publickey, cfg.cred->keys.public_key);
    s.set(zmq::sockopt::curve_secretkey, cfg.cred->keys.secret_key);
  }
  // A frame larger than any the master sends makes ZeroMQ drop the connection before it
  // allocates the frame.
  s.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(wire::max_frame_bytes));
}

/// A socket kept connected to one of the master's endpoints. ZeroMQ reconnects by itself after
/// a network failure, but not after a protocol error (such as a frame over maxmsgsize): that
/// connection stays closed, and nothing would say so. A socket monitor sees every disconnection
/// and every reconnection ZeroMQ schedules (ZMQ_EVENT_CONNECT_RETRIED, which follows an ordinary
/// disconnection at once and a protocol error never); a disconnection with no reconnection
/// scheduled within repair_wait_ms has the socket made anew (at most once a second), and
/// `prepare` sets it up again before it connects. Renewing after every disconnection instead tore
/// down connections a restarted master was still accepting, again and again. Used by the socket
/// thread only.
class watched_socket {
public:
  static constexpr std::uint64_t renew_every_ms = 1000;
  static constexpr std::uint64_t repair_wait_ms = 1000;
  using prepare_fn = std::function<void(zmq::socket_t&)>;

  watched_socket(zmq::context_t& ctx, zmq::socket_type type, const uplink_config& cfg, std::string endpoint, std::string what,
                 prepare_fn prepare)
    : ctx_(ctx), type_(type), cfg_(cfg), endpoint_(std::move(endpoint)), what_(std::move(what)), prepare_(std::move(prepare)) {
    open();
  }
  ~watched_socket() { close(); }

  zmq::socket_t& socket() { return *socket_; }
  zmq::socket_t& monitor() { return *monitor_; }

  /// Reads the monitor's events; returns true when the socket was made anew (the caller's poll
  /// items then name the new sockets).
  bool check() {
    zmq::message_t event, endpoint;
    auto now = cfg_.time->mono_ms();
    while (monitor_->recv(event, zmq::recv_flags::dontwait)) {
      if (event.more())
        (void)monitor_->recv(endpoint, zmq::recv_flags::dontwait);
      std::uint16_t id = 0; // a monitor event: its number (16 bits), then a value (32 bits)
      if (event.size() >= sizeof id)
        std::memcpy(&id, event.data(), sizeof id);
      if (id == ZMQ_EVENT_DISCONNECTED && !lost_ms_)
        lost_ms_ = now;
      else if (id == ZMQ_EVENT_CONNECT_RETRIED)
        lost_ms_.reset(); // ZeroMQ connects again by itself
    }
    if (!lost_ms_ || now - *lost_ms_ < repair_wait_ms || now - renewed_ms_ < renew_every_ms)
      return false;
    spdlog::warn("uplink: the {} connection to {} closed; connecting again", what_, endpoint_);
    close();
    open();
    renewed_ms_ = now;
    return true;
  }

private:
  void open() {
    socket_ = std::make_unique<zmq::socket_t>(ctx_, type_);
    set_link_options(*socket_, cfg_);
    auto address = "inproc://uplink-monitor." + what_ + "." + std::to_string(++generation_);
    if (zmq_socket_monitor(socket_->handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED) != 0)
      throw zmq::error_t();
    monitor_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
    monitor_->set(zmq::sockopt::linger, 0);
    monitor_->connect(address);
    prepare_(*socket_);
    allow_ipv6_for(*socket_, endpoint_);
    socket_->connect(endpoint_);
    lost_ms_.reset();
  }
  void close() {
    zmq_socket_monitor(socket_->handle(), nullptr, 0);
    monitor_.reset();
    socket_.reset();
  }

  zmq::context_t& ctx_;
  zmq::socket_type type_;
  const uplink_config& cfg_;
  std::string endpoint_, what_;
  prepare_fn prepare_;
  std::unique_ptr<zmq::socket_t> socket_, monitor_;
  unsigned generation_ = 0;
  std::optional<std::uint64_t> lost_ms_; ///< when a disconnection no reconnection followed was seen (monotonic)
  std::uint64_t renewed_ms_ = 0;
};

/// The SUB socket on the master's bus, kept connected (watched_socket) and subscribed to the
/// topics the uplink actor wants: a new socket subscribes to them again.
class bus_link {
public:
  bus_link(zmq::context_t& ctx, const uplink_config& cfg)
    : sub_(ctx, zmq::socket_type::sub, cfg, cfg.bus_endpoint, "bus", [this](zmq::socket_t& s) {
        for (auto& t : topics_)
          s.set(zmq::sockopt::subscribe, t);
      }) {}

  watched_socket& sub() { return sub_; }

  /// Subscribes to `wanted` only, each topic once (ZeroMQ's SUB sends the master every
  /// subscription, repeats included, and the master counts them). A topic in `renew` and already
  /// subscribed is subscribed again, which makes the master send its snapshot anew.
  void subscribe_only(const std::set<std::string>& wanted, const std::set<std::string>& renew) {
    auto& s = sub_.socket();
    for (auto& t : topics_)
      if (!wanted.count(t) || renew.count(t))
        s.set(zmq::sockopt::unsubscribe, t);
    for (auto& t : wanted)
      if (!topics_.count(t) || renew.count(t))
        s.set(zmq::sockopt::subscribe, t);
    topics_ = wanted;
  }

private:
  std::set<std::string> topics_; // before sub_: its first socket subscribes to none
  watched_socket sub_;
};

/// The socket thread: owns the DEALER and the SUB. Outbound frames come through an outbox; the
/// bus topics are set apart (a full outbox must not lose a change of them).
class uplink_sockets {
public:
  uplink_sockets(const uplink_config& cfg) : cfg_(cfg), routing_id_(cfg.name + "." + std::to_string(::getpid()) + "-" + random_hex(4)) {}
  ~uplink_sockets() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }

  void start(uplink_impl owner) {
    owner_ = owner;
    thread_ = std::thread([this] { run(); });
  }
  outbox& out() { return out_; }

  /// The bus topics from now on, and those to subscribe to again (bus_link::subscribe_only).
  void subscribe_only(std::set<std::string> topics, const std::set<std::string>& renew) {
    {
      std::lock_guard<std::mutex> lock(topics_mu_);
      topics_ = std::move(topics);
      renew_.insert(renew.begin(), renew.end());
      topics_changed_ = true;
    }
    out_.publish({}, {}); // wakes the socket thread; if the outbox is full, it is awake anyway
  }

private:
  void run() {
    zmq::context_t ctx(1);
    watched_socket control(ctx, zmq::socket_type::dealer, cfg_, cfg_.control_endpoint, "control", [this](zmq::socket_t& s) {
      s.set(zmq::sockopt::routing_id, routing_id_);
      s.set(zmq::sockopt::sndhwm, send_hwm);
      s.set(zmq::sockopt::immediate, 1); // no queueing towards a master that is not there
    });
    bus_link bus(ctx, cfg_);
    zmq::pollitem_t items[] = {{control.socket().handle(), 0, ZMQ_POLLIN, 0}, {bus.sub().socket().handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, out_.wake_fd(), ZMQ_POLLIN, 0},      {control.monitor().handle(), 0, ZMQ_POLLIN, 0},
                               {bus.sub().monitor().handle(), 0, ZMQ_POLLIN, 0}};
    std::vector<outbox::item> pending;
    std::vector<wire::decoded> decoded;       // the messages of a frame from the master
    wire::batcher batch(wire::max_request_bytes / 2); // of `pending`, to leave in one frame
    bool master_reads_batches = false;        // its welcome says so (the first hello's answer)
    while (!stop_) {
      try {
        zmq::poll(items, std::size(items), std::chrono::milliseconds(100));
        if (control.check()) {
          items[0].socket = control.socket().handle();
          items[3].socket = control.monitor().handle();
        }
        if (bus.sub().check()) {
          items[1].socket = bus.sub().socket().handle();
          items[4].socket = bus.sub().monitor().handle();
        }
        auto& dealer = control.socket();
        zmq::message_t m;
        for (int n = 0; n < 1000 && dealer.recv(m, zmq::recv_flags::dontwait); ++n) {
          wire::decode_frame(m.to_string_view(), decoded);
          for (auto& d : decoded) {
            if (d.ok)
              if (auto* w = std::get_if<wire::welcome>(&d.value.body); w && w->batch != master_reads_batches) {
                master_reads_batches = w->batch;
                spdlog::info("uplink: the master {}", w->batch ? "reads batches: what is queued at once leaves in one frame"
                                                                  : "reads one message per frame (an older master)");
              }
            wire::frame f = d.ok ? std::move(d.value) : wire::frame{d.id, wire::make_error(d.err)};
            caf::anon_send(owner_, frame_in_atom::value, std::move(f));
          }
        }
        for (int n = 0; n < 1000 && bus.sub().socket().recv(m, zmq::recv_flags::dontwait); ++n) {
          zmq::message_t body;
          if (!m.more() || !bus.sub().socket().recv(body))
            continue;
          auto d = wire::decode(body.to_string_view());
          spdlog::trace("uplink: bus message on '{}'{}", m.to_string_view(), d.ok ? "" : ": " + d.err.to_string());
          if (d.ok)
            caf::anon_send(owner_, bus_atom::value, m.to_string(), std::move(d.value));
        }
        pending.clear();
        out_.drain(pending);
        auto send = [&dealer](std::string_view frame) {
          if (!dealer.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
            // Not connected (immediate) or queue full: the calls' timeouts answer them.
            spdlog::debug("uplink: master unreachable; a request was not sent");
          }
        };
        if (topics_changed_.exchange(false)) {
          std::lock_guard<std::mutex> lock(topics_mu_);
          bus.subscribe_only(topics_, renew_);
          renew_.clear();
        }
        for (auto& it : pending) {
          if (it.publish)
            continue; // a wake-up (subscribe_only)
          if (master_reads_batches) // what is queued at once leaves in one frame
            batch.add(it.payload, send);
          else
            send(it.payload);
        }
        batch.flush(send);
      } catch (const std::exception& e) {
        spdlog::error("uplink: {}", e.what());
      }
    }
  }

  uplink_config cfg_;
  /// "<name>.<pid>-<random>": this process's own (two `start` processes of one slave must not
  /// share one, and a restarted container's slave has the same pid), so that the master tells a
  /// new process from the old; in insecure mode the master takes the part before the last '.' as
  /// our name, so that we keep it across a master restart without a new hello.
  std::string routing_id_;
  uplink_impl owner_;
  outbox out_{10000};
  std::mutex topics_mu_;
  std::set<std::string> topics_, renew_; ///< under topics_mu_
  std::atomic<bool> topics_changed_{false};
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

namespace {

struct pending_call {
  caf::typed_response_promise<wire::message> promise;
  std::uint64_t deadline_ms;
};

struct member {
  uplink_listener who;
  channel_interest wants;
};

struct uplink_state {
  static inline const char* name = "uplink";
  uplink_config cfg;
  uplink_sockets* sockets = nullptr;
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, pending_call> calls;
  std::vector<member> members;
  command_handler commands;     ///< applies the master's instance commands; none: refused
  std::set<std::string> topics; ///< the bus topics last given to the socket thread
  wire::inventory_joiner inventory; ///< the parts of a full snapshot so far
  bool up = false;
  std::uint64_t last_probe_ms = 0;
  std::uint64_t down_since_ms = 0; ///< start, or when the master stopped answering
  std::uint64_t warned_ms = 0;     ///< last warning about it (0: none since down_since_ms)
};

using uplink_pointer = uplink_impl::stateful_pointer<uplink_state>;

void send_hello(uplink_pointer self) {
  auto& st = self->state;
  st.sockets->out().reply({}, wire::encode({st.next_id++, wire::hello{st.cfg.name, "clusterio-slave"}}));
}

caf::result<wire::message> on_call(uplink_pointer self, wire::message& m) {
  auto& st = self->state;
  if (st.calls.size() >= max_in_flight)
    return wire::message{wire::make_error(wire::error_code::overloaded, "too many calls in flight")};
  auto id = st.next_id++;
  auto promise = self->make_response_promise<wire::message>();
  st.calls.emplace(id, pending_call{promise, st.cfg.time->mono_ms() + static_cast<std::uint64_t>(st.cfg.call_timeout.count())});
  st.sockets->out().reply({}, wire::encode({id, std::move(m)}));
  return promise;
}

/// The handler's answer to a command waits this long at most (a stop waits for the game to save
/// and quit, which the supervisor ends within 30 s).
constexpr auto command_answer_timeout = std::chrono::seconds(120);

/// A command from the master: applied by the handler, its result sent back with the frame's id.
void on_command(uplink_pointer self, std::uint64_t frame_id, wire::instance_command& cmd) {
  auto& st = self->state;
  auto send = [self, frame_id](wire::command_result r) {
    self->state.sockets->out().reply({}, wire::encode({frame_id, std::move(r)}));
  };
  auto failed = [cmd](wire::error_code code, std::string why) { return wire::failed(wire::result_of(cmd, cmd.slave), code, std::move(why)); };
  if (!st.commands)
    return send(failed(wire::error_code::unsupported, "this slave process takes no commands: only `clusterio-slave run` does"));
  self->request(st.commands, command_answer_timeout, command_atom::value, cmd)
    .then([send](wire::command_result& r) { send(std::move(r)); },
          [send, failed](caf::error& e) {
            send(failed(wire::error_code::internal, "the slave's manager did not answer: " + caf::to_string(e)));
          });
}

void on_frame(uplink_pointer self, wire::frame& f) {
  auto& st = self->state;
  if (auto* cmd = std::get_if<wire::instance_command>(&f.body))
    return on_command(self, f.id, *cmd); // not a reply: its id is the master's
  if (!st.up) {
    st.up = true;
    spdlog::info("uplink: master answers at {}", st.cfg.control_endpoint);
    for (auto& m : st.members)
      self->send(m.who, link_up_atom::value);
    // The master's welcome tells the socket thread whether it reads batches. A hello sent
    // before the connection was up was dropped (ZMQ_IMMEDIATE); this master, maybe a new
    // one, is asked now.
    if (!std::holds_alternative<wire::welcome>(f.body))
      send_hello(self);
  }
  auto it = st.calls.find(f.id);
  if (it == st.calls.end())
    return; // answered already (timed out); the retry has its own id
  it->second.promise.deliver(std::move(f.body));
  st.calls.erase(it);
}

/// Answers the calls whose deadline is at or before `now` (all of them: max) with `unavailable`.
std::size_t expire(uplink_pointer self, std::uint64_t now, const char* why) {
  std::size_t expired = 0;
  for (auto it = self->state.calls.begin(); it != self->state.calls.end();) {
    if (it->second.deadline_ms <= now) {
      it->second.promise.deliver(wire::message{wire::make_error(wire::error_code::unavailable, why)});
      it = self->state.calls.erase(it);
      ++expired;
    } else {
      ++it;
    }
  }
  return expired;
}

void on_sweep(uplink_pointer self) {
  auto& st = self->state;
  auto now = st.cfg.time->mono_ms();
  auto expired = expire(self, now, "the master did not answer in time");
  if (!st.up && now - st.last_probe_ms >= probe_interval_ms) {
    // A hello nobody waits for: its reply (any reply) tells that the master is back.
    st.last_probe_ms = now;
    send_hello(self);
  }
  if (expired && st.up) {
    st.up = false;
    st.down_since_ms = st.warned_ms = now;
    spdlog::warn("uplink: the master at {} does not answer; retrying with backoff", st.cfg.control_endpoint);
  }
  if (!st.up && now - st.down_since_ms >= silent_master_warn_after_ms && (st.warned_ms == 0 || now - st.warned_ms >= silent_master_warn_every_ms)) {
    st.warned_ms = now;
    spdlog::warn("uplink: no answer from the master at {} for {} s (is it running, is that its address, and may this host reach "
                 "that port?); the games run on, and their transfers wait",
                 st.cfg.control_endpoint, (now - st.down_since_ms) / 1000);
  }
  self->delayed_send(self, sweep_interval, sweep_atom::value);
}

/// The bus topics the members need: `inventory`, and each channel a member receives (or all of
/// `signal/` when one receives every channel, or when there are more than the master lets one
/// client subscribe to).
std::set<std::string> topics_of(const std::vector<member>& members) {
  std::set<std::string> topics;
  if (members.empty())
    return topics;
  topics.emplace(wire::topic_inventory);
  std::set<std::string> channels;
  bool every = false;
  for (auto& m : members) {
    every = every || m.wants.every;
    channels.insert(m.wants.channels.begin(), m.wants.channels.end());
  }
  if (every || channels.size() > max_channel_subscriptions) {
    topics.emplace(wire::topic_signal_prefix);
    return topics;
  }
  for (auto& c : channels)
    topics.insert(std::string(wire::topic_signal_prefix) + c);
  return topics;
}

/// Subscribes the bus to what the members now need; `renew`: topics to subscribe to again
/// (whose snapshot a member has not had).
void resubscribe(uplink_pointer self, std::set<std::string> renew = {}) {
  auto& st = self->state;
  auto topics = topics_of(st.members);
  std::string all_signals(wire::topic_signal_prefix);
  std::set<std::string> again;
  for (auto& t : renew) {
    // A channel that `signal/` covers has its snapshot with every other channel's.
    auto& topic = topics.count(all_signals) && t.compare(0, all_signals.size(), all_signals) == 0 ? all_signals : t;
    if (st.topics.count(topic) && topics.count(topic))
      again.insert(topic);
  }
  if (topics == st.topics && again.empty())
    return;
  st.topics = topics;
  st.sockets->subscribe_only(std::move(topics), again);
}

/// A member receives other channels: the bus subscribes to the new ones; those other members
/// already had are subscribed to again, so that the master sends their current frames.
void change_channels(uplink_pointer self, const uplink_listener& who, channel_interest& wants) {
  auto& st = self->state;
  auto m = std::find_if(st.members.begin(), st.members.end(), [&](const member& x) { return x.who == who; });
  if (m == st.members.end())
    return;
  std::set<std::string> renew;
  if (wants.every && !m->wants.every)
    renew.emplace(wire::topic_signal_prefix);
  for (auto& c : wants.channels)
    if (!m->wants.wants(c))
      renew.insert(std::string(wire::topic_signal_prefix) + c);
  m->wants = std::move(wants);
  resubscribe(self, std::move(renew));
}

/// A bus message to the members that take it: a channel's sum only to those whose world
/// receives on its channel (subscriptions are prefixes: `signal/ab` also brings `signal/abc`).
void deliver(uplink_pointer self, const std::string& topic, const wire::frame& f) {
  if (auto* inv = std::get_if<wire::inventory_levels>(&f.body)) {
    // A full snapshot comes in parts: the members get it whole, or not at all.
    auto dropped = self->state.inventory.dropped();
    auto whole = self->state.inventory.add(*inv);
    if (self->state.inventory.dropped() != dropped)
      spdlog::warn("uplink: an inventory snapshot from the master arrived with a part missing; waiting for the next one");
    if (!whole)
      return;
    wire::frame joined{f.id, std::move(*whole)};
    for (auto& m : self->state.members)
      self->send(m.who, bus_atom::value, topic, joined);
    return;
  }
  std::string_view prefix = wire::topic_signal_prefix;
  bool signal = topic.compare(0, prefix.size(), prefix) == 0;
  auto channel = signal ? topic.substr(prefix.size()) : std::string();
  for (auto& m : self->state.members)
    if (!signal || m.wants.wants(channel))
      self->send(m.who, bus_atom::value, topic, f);
}

uplink_impl::behavior_type uplink_fn(uplink_pointer self, uplink_config cfg, uplink_sockets* sockets) {
  self->state.cfg = cfg;
  self->state.sockets = sockets;
  self->state.down_since_ms = cfg.time->mono_ms();
  self->delayed_send(self, sweep_interval, sweep_atom::value);
  // A member that ended (its instance stopped or was deleted) receives nothing any more.
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& members = self->state.members;
    members.erase(std::remove_if(members.begin(), members.end(), [&](const member& m) { return m.who.address() == msg.source; }),
                  members.end());
    resubscribe(self);
  });
  // Every call is answered, even when the uplink ends first.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    expire(self, UINT64_MAX, "the slave is shutting down");
    self->quit(msg.reason);
  });
  return {
    [self](call_atom, wire::message& m) { return on_call(self, m); },
    [self](join_atom, uplink_listener& who) {
      self->monitor(who);
      self->state.members.push_back({std::move(who), {}});
      // The new member has had no inventory snapshot: the master sends one to a new subscription.
      resubscribe(self, {std::string(wire::topic_inventory)});
    },
    [self](channels_atom, const uplink_listener& who, channel_interest& wants) { change_channels(self, who, wants); },
    [self](serve_atom, command_handler& handler) { self->state.commands = std::move(handler); },
    [self](frame_in_atom, wire::frame& f) { on_frame(self, f); },
    [self](bus_atom, const std::string& topic, const wire::frame& f) { deliver(self, topic, f); },
    [self](sweep_atom) { on_sweep(self); },
  };
}

} // namespace

uplink_actor spawn_uplink(caf::actor_system& sys, const uplink_config& cfg, std::shared_ptr<uplink_sockets>& holder) {
  holder = std::make_shared<uplink_sockets>(cfg);
  auto a = sys.spawn(uplink_fn, cfg, holder.get());
  holder->start(a);
  return a;
}

} // namespace clusterio

// The bridge: the exactly-once protocol between one world's mod and the master
// (docs/transfers.md), its signal frames, and its UPS, tick and players.
//
//                 game_ready(link)
//   +---------+ ---------------------> +---------+  timer: ping, status + heartbeat, sync, signal refresh
//   | waiting |                        | serving |  IPC: export, request, signal, status, receivers
//   +---------+ <--------------------- +---------+  bus: inventory, signal sums
//               rcon_lost, game_stopped             link_up: register again
//
// rcon_lost: the same game runs on, still registered. game_stopped (in either state): a new run
// follows, which registers again; replies to calls made for the old run are dropped. What the
// mod prints reaches the master in both states; the master's answers reach the mod only while
// serving.
//
// While serving, a sync makes master and mod agree again, after every game_ready and link_up
// and every sync_interval_ms:
//   register -> set_batch_floor -> resync -> apply_grants + cancel_grants -> confirm
//            -> forget_grants;   pending_exports -> export -> ack_exports
// Everything is safe to repeat, so a step whose answer never comes is simply done again.

#include "actors/slave/bridge.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "game/mod_interface.hpp"
#include "game/request_book.hpp"
#include "messages/signal_sums.hpp"

namespace clusterio {

namespace {

constexpr auto timer_interval = std::chrono::milliseconds(500);
/// The mod pauses transfers after 300 ticks (5 s) without a call: ping well within that, and
/// at least once a second (the ping updates signal-unixtime).
constexpr std::uint64_t ping_interval_ms = 1000;
/// How often the latest signal frames are repeated (well under the master's default 10 s
/// signal_source_timeout_ms).
constexpr std::uint64_t signal_refresh_ms = 3000;
/// A sync or request step unanswered this long is abandoned (and retried by the next one).
constexpr std::uint64_t stuck_after_ms = 40000;
/// receive_signals calls in flight at once: the next frames wait (coalesced) until all are
/// answered, so a world slower than the bus gets the latest frame of each source, late, rather
/// than a growing queue of them.
constexpr std::size_t max_signal_calls = 64;
/// This world's frames kept per channel to take its own signals off a sum: a sum lists the seq
/// of the world's frame it holds, at most a few frames behind the newest (those in flight).
constexpr std::size_t own_frames_kept = 16;
/// Heartbeats carry at most this many players and this UPS (the wire's limits).
constexpr std::uint64_t max_players = 65535;
constexpr double max_ups = 10000.0;

/// Internal: the timer.
using bridge_impl = bridge_actor::extend<caf::reacts_to<timer_atom>>;

enum class phase { waiting, serving };

struct bridge_state {
  static inline const char* name = "bridge";
  bridge_params p;
  const clock* time = nullptr; ///< injected: the machine's clocks, or a test's
  uplink_actor uplink;
  report_sink reports;
  phase ph = phase::waiting;
  rcon_link_actor link; ///< while serving: the mod's
  /// Game runs ended so far: a reply to a call made in an earlier run is dropped.
  std::uint64_t run = 0;

  instance_report report;
  bool registered = false;
  bool sync_in_flight = false;
  bool request_in_flight = false;
  /// What to ask for, and whether the master may hold grants the mod was not given.
  request_book book;
  std::uint64_t signal_seq = 0;
  /// The channels the world's receivers use, as last told to the uplink (empty until the mod
  /// says, and while no game runs).
  channel_interest receives;
  /// This world's latest frames per channel by seq, newest last (at most own_frames_kept): a
  /// sum from the master lists the seq of the frame it holds, which may be older than the
  /// newest while that one is in flight. The newest is repeated while it is not empty: the mod
  /// sends a frame only when it changes, and the master removes a source's contribution after
  /// signal_source_timeout_ms of silence.
  std::map<std::string, std::deque<std::pair<std::uint64_t, wire::signal_list>>> own_frames;
  /// Each channel's input the world was not given yet (the sum less its own frame): the latest
  /// per channel, so a flood keeps one list a channel, never a queue.
  std::map<std::string, wire::signal_list> signals_waiting;
  std::size_t signal_calls = 0; ///< receive_signals calls of this run not answered yet
  /// The storage levels the world was told, by wire::item_key; known once it had a full
  /// snapshot in this game run and every set_inventory call since succeeded (sent == done).
  std::unordered_map<std::string, std::int64_t> world_levels;
  bool world_levels_known = false;
  std::uint64_t inventory_calls_sent = 0, inventory_calls_done = 0;
  /// What the world keeps from the cluster, as of the mod's latest status reply.
  wire::held_back_report held_back;

  // Monotonic ms.
  std::uint64_t last_sync = 0, request_since = 0, last_ping = 0, last_heartbeat = 0, last_signal_refresh = 0, tick_at_ms = 0;

  std::string log_prefix() const { return "[" + p.instance_name + "] "; }
};

using bridge_pointer = bridge_impl::stateful_pointer<bridge_state>;

const auto ignore_reply = [](const auto&) {};

void report(bridge_pointer self) { self->send(self->state.reports, report_atom::value, self->state.report); }

/// Calls the master through the uplink; `then` gets the reply, or an `unavailable` error when
/// the uplink itself did not answer. Replies to calls of an earlier game run are dropped.
void ask_master(bridge_pointer self, wire::message m, std::function<void(wire::message&)> then) {
  auto run = self->state.run;
  self->request(self->state.uplink, uplink_answer_timeout, call_atom::value, std::move(m))
    .then(
      [self, run, then](wire::message& reply) {
        if (self->state.run == run)
          then(reply);
      },
      [self, run, then](caf::error& e) {
        if (self->state.run != run)
          return;
        wire::message reply{wire::make_error(wire::error_code::unavailable, "no answer from the uplink: " + self->system().render(e))};
        then(reply);
      });
}

template <class T> T* reply_as(bridge_pointer self, wire::message& m, const char* what) {
  if (auto* x = std::get_if<T>(&m))
    return x;
  if (auto* e = std::get_if<wire::error_reply>(&m))
    spdlog::log(e->code == wire::error_code::unavailable ? spdlog::level::debug : spdlog::level::warn, "{}{} failed: {} {}: {}",
                self->state.log_prefix(), what, wire::to_string(e->code), e->field, e->message);
  return nullptr;
}

const auto nothing = [] {};

/// Calls the mod over the RCON link; `then` runs only for a well-formed reply, `done` after
/// any answer or failure in this game run. Failures are logged here: the periodic sync repairs
/// whatever they left undone.
template <class Call, class F, class Done = decltype(nothing)> void call_mod(bridge_pointer self, const Call& call, F then, Done done = nothing) {
  auto& st = self->state;
  if (st.ph != phase::serving) {
    spdlog::warn("{}RCON call {} failed: not connected", st.log_prefix(), Call::function);
    return done();
  }
  auto run = st.run;
  self->request(st.link, rcon_answer_timeout, rcon_call_atom::value, mod::command(call))
    .then(
      [self, run, then, done](rcon::reply& r) mutable {
        auto& st = self->state;
        if (st.run != run)
          return;
        if (!r)
          spdlog::warn("{}RCON call {} failed: {}", st.log_prefix(), Call::function, r.why());
        else if (auto parsed = mod::parse_reply<Call>(*r); !parsed)
          spdlog::warn("{}{}: {}", st.log_prefix(), Call::function, parsed.why());
        else
          then(*parsed);
        done();
      },
      [self, run, done](caf::error& e) {
        if (self->state.run != run)
          return;
        spdlog::warn("{}RCON call {} failed: {}", self->state.log_prefix(), Call::function, self->system().render(e));
        done();
      });
}

// ---- grants --------------------------------------------------------------------------------------

void confirm(bridge_pointer self, std::vector<std::uint64_t> applied, std::vector<std::uint64_t> cancelled) {
  auto& st = self->state;
  if (applied.empty() && cancelled.empty())
    return;
  ask_master(self, wire::confirm_grants{st.report.instance_id, std::move(applied), std::move(cancelled)}, [self](wire::message& m) {
    auto* ack = reply_as<wire::confirm_ack>(self, m, "confirm");
    if (ack && !ack->released.empty())
      call_mod(self, mod::forget_grants{ack->released}, ignore_reply);
  });
}

/// Gives the grants to the mod and confirms them; `taken_all` runs once the mod answered.
void deliver(bridge_pointer self, const std::vector<wire::grant>& grants, std::function<void()> taken_all = {}) {
  if (grants.empty()) {
    if (taken_all)
      taken_all();
    return;
  }
  using mod::grant_status;
  call_mod(self, mod::apply_grants{grants}, [self, grants, taken_all](const mod::apply_grants::reply& r) {
    for (auto& g : r.results)
      if (g.status == grant_status::rejected && g.grant_id != 0)
        spdlog::error("{}the mod rejected grant {}: {} (it stays reserved; an operator may reclaim it)", self->state.log_prefix(), g.grant_id,
                      g.reason);
    auto taken = mod::grant_ids(r.results, {grant_status::applied, grant_status::duplicate});
    self->state.book.mod_answered(grants, taken, r.applied);
    confirm(self, std::move(taken), mod::grant_ids(r.results, {grant_status::cancelled}));
    if (taken_all)
      taken_all();
  });
}

/// Asks the mod to cancel grants an operator reclaimed; confirms what it answers.
void cancel(bridge_pointer self, const std::vector<std::uint64_t>& ids) {
  if (ids.empty())
    return;
  call_mod(self, mod::cancel_grants{ids}, [self, ids](const mod::cancel_grants::reply& r) {
    self->state.book.reclaimed(ids);
    confirm(self, mod::grant_ids(r.results, {mod::grant_status::applied}), mod::grant_ids(r.results, {mod::grant_status::cancelled}));
  });
}

// ---- exports -------------------------------------------------------------------------------------

/// Forwards a batch; the mod drops it only once the master made it durable.
void send_export(bridge_pointer self, std::uint64_t batch, std::uint64_t floor, wire::item_list items) {
  auto& st = self->state;
  if (!st.registered || items.empty())
    return; // the next sync resends it from the mod
  ask_master(self, wire::export_batch{st.report.instance_id, batch, std::min(floor, batch), std::move(items)}, [self](wire::message& m) {
    if (auto* ack = reply_as<wire::export_ack>(self, m, "export"))
      call_mod(self, mod::ack_exports{{ack->batch}}, ignore_reply);
  });
}

void resend_exports(bridge_pointer self) {
  call_mod(self, mod::pending_exports{}, [self](const mod::pending_exports::reply& r) {
    for (auto& b : r.batches)
      send_export(self, b.batch, b.floor, b.items);
  });
}

// ---- the sync ------------------------------------------------------------------------------------

/// Delivers every unconfirmed grant again, cancels reclaimed ones, resends unacknowledged exports.
void resync(bridge_pointer self) {
  auto& st = self->state;
  ask_master(self, wire::resync{st.report.instance_id}, [self, doubts = st.book.doubts()](wire::message& m) {
    auto& st = self->state;
    st.sync_in_flight = false;
    if (auto* p = reply_as<wire::pending_grants>(self, m, "resync")) {
      // What the mod reported missing may predate these grants.
      st.book.granted(p->grants);
      deliver(self, p->grants, [self, doubts] { self->state.book.settled(doubts); });
      cancel(self, p->reclaim);
    }
    resend_exports(self);
  });
}

/// After a (re)start or reconnect, and periodically: make master and mod agree again.
void sync(bridge_pointer self) {
  auto& st = self->state;
  if (st.sync_in_flight || st.ph != phase::serving)
    return;
  st.sync_in_flight = true;
  st.last_sync = st.time->mono_ms();
  if (st.registered)
    return resync(self);
  ask_master(self, wire::register_instance{st.p.instance_name, st.p.game_address}, [self](wire::message& m) {
    auto& st = self->state;
    auto* r = reply_as<wire::registered>(self, m, "register");
    if (!r) {
      st.sync_in_flight = false;
      return;
    }
    st.report.instance_id = r->instance_id;
    // New batches must not reuse numbers the master has seen (e.g. after a game rollback).
    call_mod(self, mod::set_batch_floor{r->next_batch}, [self](const mod::set_batch_floor::reply&) {
      auto& st = self->state;
      st.registered = true;
      spdlog::info("{}registered with the master as instance {}", st.log_prefix(), st.report.instance_id);
      report(self);
      resync(self);
    });
  });
}

// ---- requests ------------------------------------------------------------------------------------

/// Asks the master for what the world misses; delivers what it grants. Never twice for one
/// need: one request at a time, and none while a reply is in doubt (request_book).
void request(bridge_pointer self, wire::item_list items) {
  auto& st = self->state;
  if (!st.registered || st.request_in_flight || items.empty())
    return;
  if (!st.book.may_ask())
    return sync(self); // first the grants the master may already hold for us
  st.request_in_flight = true;
  st.request_since = st.time->mono_ms();
  ask_master(self, wire::request_items{st.report.instance_id, std::move(items)}, [self](wire::message& m) {
    auto& st = self->state;
    st.request_in_flight = false;
    if (auto* g = reply_as<wire::grant_reply>(self, m, "request")) {
      st.book.granted(g->grants);
      deliver(self, g->grants);
    } else {
      st.book.doubt(); // refused, or granted with the reply lost: only a resync can tell
    }
  });
}

// ---- signals -------------------------------------------------------------------------------------

/// Sends this world's transmitters' frame for one channel.
void send_signals(bridge_pointer self, const std::string& channel, wire::signal_list signals) {
  auto& st = self->state;
  // Sequence numbers must keep increasing across slave restarts (the master drops frames not
  // newer than the last it saw from this source): epoch microseconds, bumped if equal.
  st.signal_seq = std::max(st.signal_seq + 1, st.time->epoch_ms() * 1000);
  auto& own = st.own_frames[channel];
  own.emplace_back(st.signal_seq, signals);
  if (own.size() > own_frames_kept)
    own.pop_front();
  ask_master(self, wire::signal_frame{channel, st.p.instance_name, st.signal_seq, std::move(signals)},
             [self](wire::message& m) { reply_as<wire::ok>(self, m, "signal"); });
}

/// Tells the uplink the channels the world receives on, when they changed.
void receive_on(bridge_pointer self, channel_interest wants) {
  auto& st = self->state;
  if (wants == st.receives)
    return;
  st.receives = wants;
  self->send(st.uplink, channels_atom::value, uplink_listener{caf::actor_cast<bridge_impl>(self)}, std::move(wants));
}

/// Gives the world the waiting frames, once the calls made before are all answered.
void forward_signals(bridge_pointer self) {
  auto& st = self->state;
  if (st.ph != phase::serving || st.signal_calls > 0)
    return;
  while (!st.signals_waiting.empty() && st.signal_calls < max_signal_calls) {
    auto input = st.signals_waiting.extract(st.signals_waiting.begin());
    ++st.signal_calls;
    call_mod(self, mod::receive_signals{input.key(), std::move(input.mapped())}, ignore_reply, [self] {
      if (--self->state.signal_calls == 0)
        forward_signals(self);
    });
  }
}

// ---- what the mod prints -------------------------------------------------------------------------

void on_report(bridge_pointer self, mod::export_report& e) { send_export(self, e.batch, e.floor, std::move(e.items)); }

void on_report(bridge_pointer self, mod::request_report& r) {
  auto& st = self->state;
  if (auto predates = st.book.reported(r.items, r.applied); predates > 0)
    spdlog::debug("{}a request report made {} applied grant(s) ago: what they gave is taken off it", st.log_prefix(), predates);
  request(self, st.book.wanted());
}

void on_report(bridge_pointer self, mod::signal_report& s) { send_signals(self, s.channel, std::move(s.signals)); }

void on_report(bridge_pointer self, mod::receivers_report& r) { receive_on(self, {false, std::move(r.channels)}); }

void on_report(bridge_pointer self, const mod::status_report& s) {
  auto& st = self->state;
  auto& r = st.report;
  auto now = st.time->mono_ms();
  if (st.tick_at_ms && now > st.tick_at_ms && s.tick >= r.tick) {
    double ups = static_cast<double>(s.tick - r.tick) * 1000.0 / static_cast<double>(now - st.tick_at_ms);
    r.ups = r.ups == 0 ? ups : 0.7 * r.ups + 0.3 * ups;
  }
  r.tick = s.tick;
  st.tick_at_ms = now;
  r.players = static_cast<std::uint32_t>(std::min(s.players, max_players));
}

void on_ipc(bridge_pointer self, const std::string& channel, const std::string& text) {
  auto payload = mod::parse_ipc(channel, text);
  if (!payload) {
    spdlog::warn("{}bad IPC message on channel {}: {}", self->state.log_prefix(), channel, payload.why());
    return;
  }
  std::visit([self](auto& x) { on_report(self, x); }, *payload);
}

// ---- the master's bus and the timer --------------------------------------------------------------

/// Storage levels to the world. Every full snapshot the master publishes (one for each new
/// `inventory` subscription in the cluster) reaches every slave: the world gets only what
/// differs from what it was told, unless it may have missed something (a new game run, a call
/// that has not succeeded), when it gets the whole.
void forward_inventory(bridge_pointer self, const wire::inventory_levels& inv) {
  auto& st = self->state;
  bool diff = inv.full && st.world_levels_known && st.inventory_calls_done == st.inventory_calls_sent;
  mod::set_inventory call{inv.time_ms, inv.full && !diff, {}};
  if (inv.full) {
    std::unordered_map<std::string, std::int64_t> now;
    now.reserve(inv.levels.size());
    for (auto& l : inv.levels) {
      auto key = wire::item_key(l);
      if (auto it = st.world_levels.find(key); !diff || it == st.world_levels.end() || it->second != l.count)
        call.levels.push_back(l);
      now.emplace(std::move(key), l.count);
    }
    if (diff)
      for (auto& [key, count] : st.world_levels)
        if (!now.count(key))
          call.levels.push_back(wire::item_of_key(key, 0)); // count 0 removes
    st.world_levels = std::move(now);
    st.world_levels_known = true;
    if (diff && call.levels.empty())
      return;
  } else {
    call.levels = inv.levels;
    for (auto& l : inv.levels)
      if (l.count == 0)
        st.world_levels.erase(wire::item_key(l));
      else
        st.world_levels[wire::item_key(l)] = l.count;
  }
  auto sent = ++st.inventory_calls_sent;
  call_mod(self, call, [self, sent, whole = call.full](const mod::ok_reply&) {
    // The calls are answered in order, and a whole snapshot stands for every call before it.
    auto& st = self->state;
    if (whole || st.inventory_calls_done + 1 == sent)
      st.inventory_calls_done = std::max(st.inventory_calls_done, sent);
  });
}

/// What the world's receivers on the sum's channel output: the sum less this world's own frame
/// (never echo a world's signals back to it), the one of the seq the sum lists for it.
wire::signal_list input_of(bridge_state& st, const wire::signal_sum& sum) {
  auto* listed = wire::find_source(sum, st.p.identity + "/" + st.p.instance_name);
  if (!listed)
    return sum.signals;
  auto own = st.own_frames.find(sum.channel);
  if (own == st.own_frames.end()) {
    // A frame from before this slave started (the master keeps it until it times out): its
    // signals are not known here, so they are echoed until this world's next frame.
    spdlog::debug("{}the sum of '{}' holds a frame of this world that it does not know (seq {})", st.log_prefix(), sum.channel, listed->seq);
    return sum.signals;
  }
  auto& frames = own->second;
  auto it = std::find_if(frames.begin(), frames.end(), [&](auto& f) { return f.first == listed->seq; });
  if (it == frames.end()) {
    spdlog::debug("{}the sum of '{}' holds a frame of this world older than the {} it keeps (seq {}): the newest is taken off",
                  st.log_prefix(), sum.channel, frames.size(), listed->seq);
    it = std::prev(frames.end());
  }
  return wire::subtract(sum.signals, it->second);
}

void on_bus(bridge_pointer self, const wire::frame& f) {
  auto& st = self->state;
  if (st.ph != phase::serving)
    return;
  if (auto* inv = std::get_if<wire::inventory_levels>(&f.body)) {
    // New stock of something the world still misses: ask now rather than at the mod's next
    // cycle, and only for what it reported missing less what was granted since.
    if (!inv->full)
      request(self, st.book.wanted_in_stock(inv->levels));
    forward_inventory(self, *inv);
  } else if (auto* sum = std::get_if<wire::signal_sum>(&f.body)) {
    st.signals_waiting[sum->channel] = input_of(st, *sum);
    forward_signals(self);
  }
}

void heartbeat(bridge_pointer self) {
  auto& st = self->state;
  auto& r = st.report;
  // The heartbeat carries the mod's previous status reply: one that never comes (the game busy
  // saving) must not hold up the heartbeat, which keeps the instance online.
  call_mod(self, mod::status{}, [self](const mod::status::reply& s) {
    self->state.held_back = mod::held_back_of(s);
    // Also told when it changes; read here too, so that it survives a restart of the slave.
    receive_on(self, s.receivers ? channel_interest{false, *s.receivers} : channel_interest{true, {}});
  });
  ask_master(self, wire::heartbeat{r.instance_id, std::min(r.ups, max_ups), r.tick, r.players, "running", st.held_back}, [self](wire::message& m) {
    if (auto* e = std::get_if<wire::error_reply>(&m); e && e->code == wire::error_code::not_found)
      self->state.registered = false; // the master forgot us: register again
  });
  report(self);
}

void on_timer(bridge_pointer self) {
  auto& st = self->state;
  auto now = st.time->mono_ms();
  // A step of a sync or a request whose answer never came (e.g. the game was busy saving)
  // must not block the next ones for ever: everything is safe to repeat.
  if (st.sync_in_flight && now - st.last_sync > stuck_after_ms)
    st.sync_in_flight = false;
  if (st.request_in_flight && now - st.request_since > stuck_after_ms) {
    st.request_in_flight = false;
    st.book.doubt();
  }
  if (st.ph == phase::serving) {
    if (now - st.last_ping >= ping_interval_ms) {
      // The ping carries the time, so the inventory combinators' signal-unixtime moves every
      // second even when no storage level changes.
      st.last_ping = now;
      call_mod(self, mod::set_inventory{st.time->epoch_ms(), false, {}}, ignore_reply);
    }
    if (st.registered && now - st.last_heartbeat >= st.p.heartbeat_ms) {
      st.last_heartbeat = now;
      heartbeat(self);
    }
    if (now - st.last_sync >= st.p.sync_interval_ms)
      sync(self);
    if (now - st.last_signal_refresh >= signal_refresh_ms) {
      st.last_signal_refresh = now;
      for (auto& [channel, frames] : st.own_frames)
        if (!frames.back().second.empty())
          send_signals(self, channel, frames.back().second); // a copy: sending adds to `frames`
    }
  }
  self->delayed_send(self, timer_interval, timer_atom::value);
}

bridge_impl::behavior_type bridge_fn(bridge_pointer self, bridge_params p, const clock* time, uplink_actor uplink, report_sink reports) {
  auto& st = self->state;
  st.p = std::move(p);
  st.time = time;
  st.uplink = std::move(uplink);
  st.reports = std::move(reports);
  self->send(st.uplink, join_atom::value, uplink_listener{caf::actor_cast<bridge_impl>(self)});
  self->delayed_send(self, timer_interval, timer_atom::value);
  return {
    [self](game_ready_atom, rcon_link_actor& link) {
      auto& st = self->state;
      st.ph = phase::serving;
      st.link = std::move(link);
      st.last_ping = st.last_heartbeat = 0;
      st.world_levels_known = false; // a new game run, or a reconnection: it may know other levels
      sync(self);
      forward_signals(self);
    },
    [self](rcon_lost_atom) {
      self->state.ph = phase::waiting;
      self->state.link = nullptr;
    },
    [self](game_stopped_atom) {
      auto& st = self->state;
      ++st.run;
      st.ph = phase::waiting;
      st.link = nullptr;
      st.registered = false;
      st.held_back = {}; // the next run's mod reports its own
      st.book.game_started(); // the next run starts from the save; a request in flight is in doubt
      st.sync_in_flight = st.request_in_flight = false;
      // No world receives now; the next run's mod tells its channels again.
      receive_on(self, {});
      st.signals_waiting.clear();
      st.signal_calls = 0;
    },
    [self](ipc_atom, const std::string& channel, const std::string& text) { on_ipc(self, channel, text); },
    [self](bus_atom, const std::string&, const wire::frame& f) { on_bus(self, f); },
    [self](link_up_atom) {
      // The master may have restarted: register again and resync.
      self->state.registered = false;
      sync(self);
    },
    [self](timer_atom) { on_timer(self); },
  };
}

} // namespace

bridge_actor spawn_bridge(caf::actor_system& sys, bridge_params params, const clock* time, uplink_actor uplink, report_sink reports) {
  return sys.spawn(bridge_fn, std::move(params), time, std::move(uplink), std::move(reports));
}

} // namespace clusterio

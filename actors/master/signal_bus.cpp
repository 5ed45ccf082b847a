#include "actors/master/signal_bus.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/outbox.hpp"

namespace clusterio {

namespace {

using wire::error_code;

/// Bus subscriptions arriving within this window share one republish (a burst of new
/// subscribers must not multiply the snapshot traffic).
constexpr auto snapshot_delay = std::chrono::milliseconds(20);
/// What the bus's tables spend on a source beside its name and frame: the hash node holding the
/// key and a source_state, its bucket, the allocator's headers (libstdc++, 64-bit), rounded up.
/// Counted so that many tiny frames cannot hide behind their small size.
constexpr std::uint64_t source_overhead_bytes = 192;
/// The same for a channel: its map node, its table of sources and its counters.
constexpr std::uint64_t channel_overhead_bytes = 384;

struct source_state {
  std::uint64_t seq = 0;
  std::uint64_t heard_ms = 0; ///< monotonic
  bool empty = true;          ///< its latest frame withdrew its contribution
  std::string payload;        ///< the latest frame, encoded as published (for snapshots)
};

struct channel_state {
  std::string topic; ///< "signal/<channel>"
  std::unordered_map<std::string, source_state> sources;
  signal_channel_stats stats;
};

/// Bytes counted against max_kept_bytes for a source with this frame.
std::uint64_t source_cost(const std::string& source, const std::string& payload) {
  return source.size() + payload.size() + source_overhead_bytes;
}

/// Bytes counted for a channel: its name is held three times (key, topic, counters).
std::uint64_t channel_cost(const std::string& name) { return 3 * name.size() + wire::topic_signal_prefix.size() + channel_overhead_bytes; }

struct signal_bus_state {
  static inline const char* name = "signal_bus";
  signal_bus_config cfg;
  outbox* out = nullptr;
  std::map<std::string, channel_state> channels; ///< those with sources
  std::uint64_t kept_bytes = 0;                  ///< source_cost and channel_cost of everything kept
  std::uint64_t refused_frame_bytes = 0, refused_kept_bytes = 0;
  std::vector<std::string> pending_snapshots; ///< subscription prefixes waiting for sig_flush

  std::uint64_t now() const { return cfg.time->mono_ms(); }

  /// Keeps and publishes a frame (queued in `sent`) if it is newer than its source's last and
  /// within the bounds; the answer for its sender.
  wire::message accept(const wire::signal_frame& f, std::uint64_t now, std::vector<outbox::item>& sent) {
    auto ch = channels.find(f.channel);
    source_state* last = nullptr;
    if (ch != channels.end()) {
      if (auto it = ch->second.sources.find(f.source); it != ch->second.sources.end())
        last = &it->second;
      if (last && f.seq <= last->seq) {
        ++ch->second.stats.dropped; // older or repeated: order per source is preserved
        return wire::ok{};
      }
    }
    auto payload = wire::encode({0, f});
    if (payload.size() > wire::max_signal_frame_bytes) {
      ++refused_frame_bytes;
      return wire::make_error(error_code::invalid,
                              "the frame takes " + std::to_string(payload.size()) + " bytes as the bus carries it, more than the " +
                                std::to_string(wire::max_signal_frame_bytes) + " a source's frame may take (max_signal_frame_bytes): send fewer signals or shorter names",
                              "signals");
    }
    auto cost = source_cost(f.source, payload) + (ch == channels.end() ? channel_cost(f.channel) : 0);
    auto freed = last ? source_cost(f.source, last->payload) : 0;
    // A frame that takes no more than its source's last always passes: a source can always
    // withdraw or shrink its contribution.
    if (cost > freed && kept_bytes - freed + cost > cfg.max_kept_bytes) {
      ++refused_kept_bytes;
      return wire::make_error(error_code::overloaded,
                              "the signal bus keeps " + std::to_string(kept_bytes) + " bytes of frames and may keep " +
                                std::to_string(cfg.max_kept_bytes) + " (max_signal_bytes); this frame needs " + std::to_string(cost - freed) +
                                " more: retry when sources fall silent, or raise max_signal_bytes",
                              "signals");
    }
    kept_bytes = kept_bytes - freed + cost;
    if (ch == channels.end()) {
      ch = channels.try_emplace(f.channel).first;
      ch->second.topic = std::string(wire::topic_signal_prefix) + f.channel;
      ch->second.stats.channel = f.channel;
    }
    auto& src = last ? *last : ch->second.sources[f.source];
    src.seq = f.seq;
    src.heard_ms = now;
    src.empty = f.signals.empty();
    src.payload = std::move(payload);
    ++ch->second.stats.accepted;
    sent.push_back({true, ch->second.topic, src.payload});
    return wire::ok{};
  }

  /// Removes the contribution of every source silent for longer than the timeout, and the
  /// channels left without sources.
  void expire(std::uint64_t now) {
    std::vector<outbox::item> sent;
    for (auto ch = channels.begin(); ch != channels.end();) {
      auto& [name, state] = *ch;
      for (auto it = state.sources.begin(); it != state.sources.end();) {
        if (now - it->second.heard_ms <= cfg.source_timeout_ms) {
          ++it;
          continue;
        }
        if (!it->second.empty) {
          wire::signal_frame gone{name, it->first, it->second.seq + 1, {}};
          sent.push_back({true, state.topic, wire::encode({0, gone})});
        }
        ++state.stats.expired;
        kept_bytes -= source_cost(it->first, it->second.payload);
        it = state.sources.erase(it);
      }
      if (state.sources.empty()) {
        kept_bytes -= channel_cost(name);
        ch = channels.erase(ch);
      } else {
        ++ch;
      }
    }
    out->push_all(std::move(sent));
  }

  /// Republishes the latest frame of every source on the channels the prefixes cover.
  void flush_snapshots() {
    std::vector<outbox::item> sent;
    for (auto& [name, ch] : channels) {
      bool covered = std::any_of(pending_snapshots.begin(), pending_snapshots.end(),
                                 [&ch = ch](const std::string& p) { return ch.topic.compare(0, p.size(), p) == 0; });
      if (!covered)
        continue;
      for (auto& [source, src] : ch.sources)
        if (!src.empty)
          sent.push_back({true, ch.topic, src.payload});
    }
    pending_snapshots.clear();
    out->push_all(std::move(sent));
  }

  signal_bus_stats stats() const {
    signal_bus_stats s;
    for (auto& [name, ch] : channels) {
      s.channels.push_back(ch.stats);
      s.channels.back().sources = ch.sources.size();
    }
    s.kept_bytes = kept_bytes;
    s.refused_frame_bytes = refused_frame_bytes;
    s.refused_kept_bytes = refused_kept_bytes;
    return s;
  }
};

using signal_bus_self = signal_bus_actor::stateful_pointer<signal_bus_state>;

std::chrono::milliseconds sweep_period(std::uint64_t timeout_ms) {
  return std::chrono::milliseconds(std::clamp<std::uint64_t>(timeout_ms / 4, 10, 1000));
}

signal_bus_actor::behavior_type signal_bus_fn(signal_bus_self self, signal_bus_config cfg, outbox* out) {
  self->state.cfg = cfg;
  self->state.out = out;
  self->delayed_send(self, sweep_period(cfg.source_timeout_ms), tick_atom::value);
  return {
    [self](signal_atom, signal_jobs& jobs) {
      auto now = self->state.now();
      // Each answer follows its frame's publication: one lock and one wake-up for the sweep.
      std::vector<outbox::item> sent;
      sent.reserve(2 * jobs.size());
      for (auto& j : jobs) {
        auto answer = self->state.accept(j.msg, now, sent);
        sent.push_back({false, std::move(j.to.peer), wire::encode({j.to.id, std::move(answer)})});
      }
      self->state.out->push_all(std::move(sent));
    },
    [self](sig_snap_atom, std::string& prefix) {
      auto& pending = self->state.pending_snapshots;
      if (pending.empty())
        self->delayed_send(self, snapshot_delay, sig_flush_atom::value);
      if (std::find(pending.begin(), pending.end(), prefix) == pending.end())
        pending.push_back(std::move(prefix));
    },
    [self](sig_flush_atom) { self->state.flush_snapshots(); },
    [self](sig_stats_atom) { return self->state.stats(); },
    [self](tick_atom) {
      self->state.expire(self->state.now());
      self->delayed_send(self, sweep_period(self->state.cfg.source_timeout_ms), tick_atom::value);
    },
  };
}

} // namespace

signal_bus_actor spawn_signal_bus(caf::actor_system& sys, const signal_bus_config& cfg, outbox& out) {
  if (cfg.own_thread)
    return sys.spawn<caf::detached>(signal_bus_fn, cfg, &out);
  return sys.spawn(signal_bus_fn, cfg, &out);
}

} // namespace clusterio

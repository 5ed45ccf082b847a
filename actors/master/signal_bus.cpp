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

/// Bus subscriptions arriving within this window share one republish (a burst of new
/// subscribers must not multiply the snapshot traffic).
constexpr auto snapshot_delay = std::chrono::milliseconds(20);
/// Sources kept over all channels; frames from further new sources are dropped (and counted)
/// so that a publisher inventing sources cannot exhaust the master's memory.
constexpr std::size_t max_sources = 100000;

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

struct signal_bus_state {
  static inline const char* name = "signal_bus";
  signal_bus_config cfg;
  outbox* out = nullptr;
  std::map<std::string, channel_state> channels;
  std::size_t total_sources = 0;
  std::vector<std::string> pending_snapshots; ///< subscription prefixes waiting for sig_flush

  std::uint64_t now() const { return cfg.time->mono_ms(); }

  channel_state& channel(const std::string& name) {
    auto [it, fresh] = channels.try_emplace(name);
    if (fresh) {
      it->second.topic = std::string(wire::topic_signal_prefix) + name;
      it->second.stats.channel = name;
    }
    return it->second;
  }

  void accept(wire::signal_frame& f, std::uint64_t now) {
    auto& ch = channel(f.channel);
    auto it = ch.sources.find(f.source);
    if (it == ch.sources.end()) {
      if (total_sources >= max_sources) {
        ++ch.stats.dropped;
        return;
      }
      it = ch.sources.emplace(f.source, source_state{}).first;
      ++total_sources;
    } else if (f.seq <= it->second.seq) {
      ++ch.stats.dropped; // older or repeated: order per source is preserved
      return;
    }
    auto& src = it->second;
    src.seq = f.seq;
    src.heard_ms = now;
    src.empty = f.signals.empty();
    src.payload = wire::encode({0, f});
    ++ch.stats.accepted;
    out->publish(ch.topic, src.payload);
  }

  /// Removes the contribution of every source silent for longer than the timeout.
  void expire(std::uint64_t now) {
    for (auto& [name, ch] : channels) {
      for (auto it = ch.sources.begin(); it != ch.sources.end();) {
        if (now - it->second.heard_ms <= cfg.source_timeout_ms) {
          ++it;
          continue;
        }
        if (!it->second.empty) {
          wire::signal_frame gone{name, it->first, it->second.seq + 1, {}};
          out->publish(ch.topic, wire::encode({0, gone}));
        }
        ++ch.stats.expired;
        --total_sources;
        it = ch.sources.erase(it);
      }
    }
  }

  /// Republishes the latest frame of every source on the channels the prefixes cover.
  void flush_snapshots() {
    for (auto& [name, ch] : channels) {
      bool covered = std::any_of(pending_snapshots.begin(), pending_snapshots.end(),
                                 [&ch = ch](const std::string& p) { return ch.topic.compare(0, p.size(), p) == 0; });
      if (!covered)
        continue;
      for (auto& [source, src] : ch.sources)
        if (!src.empty)
          out->publish(ch.topic, src.payload);
    }
    pending_snapshots.clear();
  }

  signal_bus_stats stats() const {
    signal_bus_stats s;
    for (auto& [name, ch] : channels) {
      s.channels.push_back(ch.stats);
      s.channels.back().sources = ch.sources.size();
    }
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
    [self](signal_atom, signal_frames& frames) {
      auto now = self->state.now();
      for (auto& f : frames)
        self->state.accept(f, now);
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

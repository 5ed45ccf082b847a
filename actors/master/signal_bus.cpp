#include "actors/master/signal_bus.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/outbox.hpp"
#include "messages/signal_sums.hpp"

namespace clusterio {

namespace {

using wire::error_code;

/// Bus subscriptions arriving within this window share one republish (a burst of new
/// subscribers must not multiply the snapshot traffic).
constexpr auto snapshot_delay = std::chrono::milliseconds(20);
/// What the bus's tables spend on a source beside its name and frame: the map node holding the
/// key and a source_state, the allocator's headers (libstdc++, 64-bit), rounded up. Counted so
/// that many tiny frames cannot hide behind their small size.
constexpr std::uint64_t source_overhead_bytes = 256;
/// What each signal of a source's frame costs it: its place in the sum and its value.
constexpr std::uint64_t source_signal_bytes = 16;
/// What a distinct signal of a channel's sum costs beside its key, which it holds twice (the
/// map's key and the id published): the map node, a circuit_signal, the allocator's headers.
constexpr std::uint64_t sum_entry_overhead_bytes = 256;
/// The same for a channel: its map node, its tables, its topics and its last sum.
constexpr std::uint64_t channel_overhead_bytes = 512;
/// A channel whose sources all left is published empty at the change, when it goes quiet, and
/// this many more times at the periodic republication before it is forgotten, so that a
/// receiver that missed the change still converges.
constexpr int empty_republishes = 1;

/// What one channel's sums may send each subscriber per second, at most: every subscriber
/// takes every sum whole, and with CURVE the master encrypts it once per subscriber. A sum of
/// 2.5 KB (50 signals, 50 sources) may go every 2.5 ms, one of 18 KB (500 sources) every 18 ms.
constexpr std::uint64_t sum_bytes_per_s = 1'000'000;

/// Bytes a sum's entry for a signal with this key takes as published, at most (msgpack of
/// [name, value, type, quality]: the key holds the three texts and two separators).
std::uint64_t sum_entry_bytes(const std::string& key) { return key.size() + 16; }
/// The same for a source in the sum's list ({"source": s, "seq": n}).
std::uint64_t sum_source_bytes(const std::string& source) { return source.size() + 32; }
/// A sum's bytes beside its entries and sources: envelope, channel and keys.
constexpr std::uint64_t sum_frame_bytes = 256;

struct sum_entry {
  wire::circuit_signal id; ///< value unused
  std::int64_t total = 0;  ///< exact; published wrapped to int32 as Factorio's wires add
  std::uint32_t contributors = 0;
};

using sum_table = std::map<std::string, sum_entry>; ///< by wire::signal_key, sorted as published

struct source_state {
  std::uint64_t seq = 0;
  std::uint64_t heard_ms = 0; ///< monotonic
  /// The latest frame's signals, each as its entry in the channel's sum and its value (map
  /// iterators stay valid while the entry exists, and a counted entry exists).
  std::vector<std::pair<sum_table::iterator, std::int64_t>> counted;
  std::string payload; ///< the latest frame, encoded as published on signal-src/ (snapshots)
};

struct channel_state {
  std::string name;
  std::string sum_topic;    ///< "signal/<channel>"
  std::string source_topic; ///< "signal-src/<channel>"
  std::map<std::string, source_state> sources; ///< sorted: the sum lists them in this order
  sum_table sum;
  std::size_t contributing = 0;                ///< sources with a non-empty frame
  std::uint64_t sum_bytes = sum_frame_bytes;   ///< the sum as published, at most (max_signal_sum_bytes)
  std::uint64_t generation = 0;
  bool dirty = false;        ///< changed since its last publication
  bool quiet_pending = false; ///< a change was published: publish once more when it goes quiet
  int empty_left = empty_republishes;
  bool published = false;
  std::uint64_t last_pub_ms = 0, last_change_ms = 0;
  std::uint64_t due_ms = 0; ///< its entry in the schedule
  std::string payload;      ///< the last sum published
  signal_channel_stats stats;
};

/// Bytes counted against max_kept_bytes for a source with this frame.
std::uint64_t source_cost(const std::string& source, const std::string& payload, std::size_t signals) {
  return source.size() + payload.size() + source_overhead_bytes + signals * source_signal_bytes;
}
/// The same for a distinct signal of a channel's sum.
std::uint64_t sum_entry_cost(const std::string& key) { return 2 * key.size() + sum_entry_overhead_bytes; }

/// What a frame would change in its channel's sum, before it is applied.
struct sum_change {
  std::string refusal;            ///< why the sum could not take it, or ""
  std::vector<std::string> keys;  ///< wire::signal_key of each of its signals, in order
  std::uint64_t added_cost = 0;   ///< sum_entry_cost of the entries it would add
  std::uint64_t removed_cost = 0; ///< and of those it would remove
};

/// Bytes counted for a channel: its name is held four times (key, two topics, counters).
std::uint64_t channel_cost(const std::string& name) { return 4 * name.size() + wire::max_topic_bytes + channel_overhead_bytes; }

struct signal_bus_state {
  static inline const char* name = "signal_bus";
  signal_bus_config cfg;
  outbox* out = nullptr;
  std::map<std::string, channel_state> channels;
  /// (due, channel): when each channel next needs the bus (a coalesced change, a quiet or a
  /// periodic republication).
  std::set<std::pair<std::uint64_t, std::string>> schedule;
  std::uint64_t armed_ms = std::numeric_limits<std::uint64_t>::max(); ///< the earliest timer out
  /// Generations increase across channels and restarts (seeded from the clock), so a channel
  /// forgotten and made again never repeats one.
  std::uint64_t last_generation = 0;
  std::uint64_t kept_bytes = 0; ///< source_cost and channel_cost of everything kept
  std::uint64_t refused_frame_bytes = 0, refused_kept_bytes = 0, refused_sum = 0;
  std::vector<std::string> pending_snapshots; ///< subscription prefixes waiting for sig_flush

  std::uint64_t now() const { return cfg.time->mono_ms(); }

  /// What the channel's sum would become with `f` in place of `last` (its source's frame).
  sum_change plan(const channel_state* ch, const wire::signal_frame& f, const source_state* last) {
    sum_change change;
    std::size_t entries = ch ? ch->sum.size() : 0;
    std::size_t sources = ch ? ch->contributing : 0;
    std::uint64_t bytes = ch ? ch->sum_bytes : sum_frame_bytes;
    change.keys.reserve(f.signals.size());
    for (auto& s : f.signals) {
      auto& key = change.keys.emplace_back(wire::signal_key(s));
      if (!ch || ch->sum.count(key) == 0) {
        ++entries, bytes += sum_entry_bytes(key);
        change.added_cost += sum_entry_cost(key);
      }
    }
    std::unordered_set<std::string_view> in_frame(change.keys.begin(), change.keys.end());
    if (last)
      for (auto& [entry, value] : last->counted)
        if (in_frame.count(entry->first) == 0 && entry->second.contributors == 1) {
          --entries, bytes -= sum_entry_bytes(entry->first);
          change.removed_cost += sum_entry_cost(entry->first);
        }
    bool was = last && !last->counted.empty(), is = !f.signals.empty();
    if (is && !was)
      ++sources, bytes += sum_source_bytes(f.source);
    if (was && !is)
      --sources, bytes -= sum_source_bytes(f.source);
    // Only growth is refused: a source can always withdraw or shrink its contribution.
    if (entries > wire::max_sum_signals && entries > (ch ? ch->sum.size() : 0))
      change.refusal = "the channel's sum would hold " + std::to_string(entries) + " distinct signals, more than the " +
                       std::to_string(wire::max_sum_signals) + " it may (max_sum_signals)";
    else if (sources > wire::max_sum_sources && sources > (ch ? ch->contributing : 0))
      change.refusal = "the channel would have " + std::to_string(sources) + " sources, more than the " + std::to_string(wire::max_sum_sources) +
                       " it may (max_sum_sources)";
    else if (bytes > wire::max_signal_sum_bytes && bytes > (ch ? ch->sum_bytes : 0))
      change.refusal = "the channel's sum would take " + std::to_string(bytes) + " bytes as published, more than the " +
                       std::to_string(wire::max_signal_sum_bytes) + " it may (max_signal_sum_bytes)";
    return change;
  }

  /// Puts `signals` (possibly empty; `keys` their wire::signal_key, as plan() made them) as the
  /// source's frame into the channel's sum; the bytes kept follow the sum's entries.
  void replace(channel_state& ch, const std::string& source, source_state& src, const wire::signal_list& signals,
               std::vector<std::string> keys) {
    bool was = !src.counted.empty(), is = !signals.empty();
    std::vector<std::pair<sum_table::iterator, std::int64_t>> counted;
    counted.reserve(signals.size());
    for (std::size_t i = 0; i < signals.size(); ++i) {
      auto& s = signals[i];
      auto [it, added] = ch.sum.try_emplace(std::move(keys[i]));
      if (added) {
        it->second.id = s;
        ch.sum_bytes += sum_entry_bytes(it->first);
        kept_bytes += sum_entry_cost(it->first);
      }
      it->second.total += s.value;
      ++it->second.contributors;
      counted.emplace_back(it, s.value);
    }
    for (auto& [it, value] : src.counted) {
      it->second.total -= value;
      if (--it->second.contributors == 0) {
        ch.sum_bytes -= sum_entry_bytes(it->first);
        kept_bytes -= sum_entry_cost(it->first);
        ch.sum.erase(it);
      }
    }
    src.counted = std::move(counted);
    if (is && !was)
      ++ch.contributing, ch.sum_bytes += sum_source_bytes(source);
    if (was && !is)
      --ch.contributing, ch.sum_bytes -= sum_source_bytes(source);
  }

  /// Keeps and sums a frame, and publishes it on signal-src/ (queued in `sent`), if it is newer
  /// than its source's last and within the bounds; the answer for its sender.
  wire::message accept(wire::signal_frame& f, std::uint64_t now, std::vector<outbox::item>& sent) {
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
    auto change = plan(ch == channels.end() ? nullptr : &ch->second, f, last);
    if (!change.refusal.empty()) {
      ++refused_sum;
      return wire::make_error(error_code::overloaded, change.refusal + ": retry when other sources fall silent, or use another channel", "signals");
    }
    // The source's own part (and a new channel's); the sum's entries are counted as replace()
    // makes and drops them.
    auto old_part = last ? source_cost(f.source, last->payload, last->counted.size()) : 0;
    auto new_part = source_cost(f.source, payload, f.signals.size()) + (ch == channels.end() ? channel_cost(f.channel) : 0);
    auto cost = new_part + change.added_cost, freed = old_part + change.removed_cost;
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
    kept_bytes = kept_bytes - old_part + new_part;
    if (ch == channels.end()) {
      ch = channels.try_emplace(f.channel).first;
      auto& c = ch->second;
      c.name = f.channel;
      c.sum_topic = std::string(wire::topic_signal_prefix) + f.channel;
      c.source_topic = std::string(wire::topic_signal_source_prefix) + f.channel;
      c.stats.channel = f.channel;
    }
    auto& c = ch->second;
    auto& src = last ? *last : c.sources[f.source];
    src.seq = f.seq;
    src.heard_ms = now;
    src.payload = std::move(payload);
    replace(c, f.source, src, f.signals, std::move(change.keys));
    ++c.stats.accepted;
    sent.push_back({true, c.source_topic, src.payload});
    changed(c, now, sent);
    return wire::ok{};
  }

  // ---- publication ----

  void reschedule(channel_state& ch, std::uint64_t due) {
    schedule.erase({ch.due_ms, ch.name});
    ch.due_ms = due;
    schedule.emplace(due, ch.name);
  }

  /// The least time between two sums of the channel: min_interval_ms, or longer for a large sum
  /// (many sources), so that a channel sends each subscriber at most sum_bytes_per_s.
  std::uint64_t interval_of(const channel_state& ch) const {
    return std::max<std::uint64_t>(cfg.min_interval_ms, ch.payload.size() * 1000 / sum_bytes_per_s);
  }

  /// When the channel next needs the bus. Right after a publication that is the end of its
  /// interval, even with no change yet: a busy channel changes within it, and a change then
  /// finds the bus already woken for that time, so a busy channel costs one timer an interval
  /// (each timer wakes CAF's clock thread, then the bus).
  std::uint64_t next_due(const channel_state& ch, std::uint64_t now) const {
    auto interval_end = ch.last_pub_ms + interval_of(ch);
    if (ch.dirty || (ch.quiet_pending && now < interval_end))
      return interval_end;
    if (ch.quiet_pending)
      return std::max(ch.last_change_ms + cfg.quiet_republish_ms, interval_end);
    return ch.last_pub_ms + cfg.republish_ms;
  }

  /// A change of the channel's sum: published now if its last publication is at least
  /// min_interval old, else at the end of that interval with every change since.
  void changed(channel_state& ch, std::uint64_t now, std::vector<outbox::item>& sent) {
    ch.generation = ++last_generation;
    ch.dirty = true;
    ch.last_change_ms = now;
    ch.empty_left = empty_republishes;
    if (!ch.published || now >= ch.last_pub_ms + interval_of(ch))
      publish(ch, now, sent);
    else
      reschedule(ch, next_due(ch, now));
  }

  wire::signal_sum sum_of(const channel_state& ch) const {
    wire::signal_sum s;
    s.channel = ch.name;
    s.generation = ch.generation;
    s.sources.reserve(ch.contributing);
    for (auto& [source, src] : ch.sources)
      if (!src.counted.empty())
        s.sources.push_back({source, src.seq});
    for (auto& [key, e] : ch.sum)
      if (auto v = wire::wrap_int32(e.total); v != 0) {
        s.signals.push_back(e.id);
        s.signals.back().value = v;
      }
    return s;
  }

  /// Publishes the channel's sum: encoded anew if it changed, else the last one again.
  void publish(channel_state& ch, std::uint64_t now, std::vector<outbox::item>& sent) {
    if (ch.dirty) {
      ch.payload = wire::encode({0, sum_of(ch)});
      ch.dirty = false;
      ch.quiet_pending = true;
    }
    sent.push_back({true, ch.sum_topic, ch.payload});
    ++ch.stats.published;
    ch.published = true;
    ch.last_pub_ms = now;
    reschedule(ch, next_due(ch, now));
  }

  /// Serves every channel that is due: coalesced changes, quiet and periodic republications;
  /// forgets a channel left empty once it was republished enough.
  void serve_due(std::uint64_t now) {
    std::vector<outbox::item> sent;
    while (!schedule.empty() && schedule.begin()->first <= now) {
      auto it = channels.find(schedule.begin()->second);
      auto& ch = it->second;
      bool quiet = !ch.dirty && ch.quiet_pending;
      if (quiet && now < ch.last_change_ms + cfg.quiet_republish_ms) {
        // The end of an interval without a change: the quiet republication comes later.
        reschedule(ch, next_due(ch, now));
        continue;
      }
      if (!ch.dirty && !quiet && ch.sources.empty()) {
        if (ch.empty_left <= 0) {
          schedule.erase(schedule.begin());
          kept_bytes -= channel_cost(ch.name);
          channels.erase(it);
          continue;
        }
        --ch.empty_left;
      }
      publish(ch, now, sent);
      if (quiet) {
        ch.quiet_pending = false;
        reschedule(ch, next_due(ch, now));
      }
    }
    out->push_all(std::move(sent));
  }

  /// Removes the contribution of every source silent for longer than the timeout.
  void expire(std::uint64_t now) {
    std::vector<outbox::item> sent;
    for (auto& [name, ch] : channels) {
      bool removed = false;
      for (auto it = ch.sources.begin(); it != ch.sources.end();) {
        if (now - it->second.heard_ms <= cfg.source_timeout_ms) {
          ++it;
          continue;
        }
        if (!it->second.counted.empty()) {
          wire::signal_frame gone{name, it->first, it->second.seq + 1, {}};
          sent.push_back({true, ch.source_topic, wire::encode({0, gone})});
          removed = true;
        }
        ++ch.stats.expired;
        kept_bytes -= source_cost(it->first, it->second.payload, it->second.counted.size());
        replace(ch, it->first, it->second, {}, {});
        it = ch.sources.erase(it);
      }
      if (removed)
        changed(ch, now, sent);
    }
    out->push_all(std::move(sent));
  }

  /// Republishes what the prefixes cover: a channel's sum on signal/, each source's latest
  /// frame on signal-src/.
  void flush_snapshots() {
    std::vector<outbox::item> sent;
    auto covers = [&](const std::string& topic) {
      return std::any_of(pending_snapshots.begin(), pending_snapshots.end(),
                         [&](const std::string& p) { return topic.compare(0, p.size(), p) == 0; });
    };
    auto now = this->now();
    for (auto& [name, ch] : channels) {
      if (covers(ch.sum_topic))
        publish(ch, now, sent);
      if (covers(ch.source_topic))
        for (auto& [source, src] : ch.sources)
          if (!src.counted.empty())
            sent.push_back({true, ch.source_topic, src.payload});
    }
    pending_snapshots.clear();
    out->push_all(std::move(sent));
  }

  signal_bus_stats stats() const {
    signal_bus_stats s;
    for (auto& [name, ch] : channels) {
      s.channels.push_back(ch.stats);
      s.channels.back().sources = ch.sources.size();
      s.channels.back().sum_signals = ch.sum.size();
    }
    s.kept_bytes = kept_bytes;
    s.refused_frame_bytes = refused_frame_bytes;
    s.refused_kept_bytes = refused_kept_bytes;
    s.refused_sum = refused_sum;
    return s;
  }
};

using signal_bus_self = signal_bus_actor::stateful_pointer<signal_bus_state>;

std::chrono::milliseconds sweep_period(std::uint64_t timeout_ms) {
  return std::chrono::milliseconds(std::clamp<std::uint64_t>(timeout_ms / 4, 10, 1000));
}

/// Makes sure a timer wakes the bus when the earliest scheduled channel is due.
void arm(signal_bus_self self) {
  auto& st = self->state;
  if (st.schedule.empty())
    return;
  auto due = st.schedule.begin()->first;
  if (due >= st.armed_ms)
    return;
  st.armed_ms = due;
  auto now = st.now();
  self->delayed_send(self, std::chrono::milliseconds(due > now ? due - now : 0), sig_due_atom::value, due);
}

signal_bus_actor::behavior_type signal_bus_fn(signal_bus_self self, signal_bus_config cfg, outbox* out) {
  self->state.cfg = cfg;
  self->state.out = out;
  self->state.last_generation = cfg.time->epoch_ms() * 1000;
  self->delayed_send(self, sweep_period(cfg.source_timeout_ms), tick_atom::value);
  return {
    [self](signal_atom, signal_jobs& jobs) {
      auto now = self->state.now();
      // Each answer follows its frame's publication: one lock and one wake-up for the sweep.
      std::vector<outbox::item> sent;
      sent.reserve(3 * jobs.size());
      for (auto& j : jobs) {
        auto answer = self->state.accept(j.msg, now, sent);
        sent.push_back({false, std::move(j.to.peer), wire::encode({j.to.id, std::move(answer)})});
      }
      self->state.out->push_all(std::move(sent));
      arm(self);
    },
    [self](sig_due_atom, std::uint64_t due) {
      // Only the timer armed last clears the mark: a timer an earlier due overtook still serves
      // what is due but arms no other, or each such timer would go on waking the bus for ever.
      if (due == self->state.armed_ms)
        self->state.armed_ms = std::numeric_limits<std::uint64_t>::max();
      self->state.serve_due(self->state.now());
      arm(self);
    },
    [self](sig_snap_atom, std::string& prefix) {
      auto& pending = self->state.pending_snapshots;
      if (pending.empty())
        self->delayed_send(self, snapshot_delay, sig_flush_atom::value);
      if (std::find(pending.begin(), pending.end(), prefix) == pending.end())
        pending.push_back(std::move(prefix));
    },
    [self](sig_flush_atom) {
      self->state.flush_snapshots();
      arm(self);
    },
    [self](sig_stats_atom) { return self->state.stats(); },
    [self](tick_atom) {
      self->state.expire(self->state.now());
      arm(self);
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

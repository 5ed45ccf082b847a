#include "actors/master/storage.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <optional>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/master/storage_ledger.hpp"
#include "common/outbox.hpp"
#include "control/metrics.hpp"
#include "common/warning_limit.hpp"
#include "store/storage_db.hpp"

namespace clusterio {

namespace {

using wire::error_code;

/// Statistics are durable to within this interval (a kill -9 may lose the last second of them;
/// never a transfer).
constexpr std::uint64_t stats_flush_ms = 1000;
/// Per-minute statistics are kept this long (the web's graphs show 24 h at full resolution);
/// older ones are summed into hourly rows.
constexpr std::uint64_t stats_minute_retention = 48 * 60;
/// How often the compaction runs (it moves at most a minute's rows, except after a long stop).
constexpr std::uint64_t stats_compact_ms = 60000;
/// After a failed commit, how long until the storage reloads from the database and tries again.
constexpr auto recover_interval = std::chrono::seconds(10);
/// How far back a web graph can reach (one year).
constexpr std::uint64_t max_series_minutes = 366 * 24 * 60;

struct storage_state {
  static inline const char* name = "storage";

  std::shared_ptr<storage_db> db;
  outbox* out = nullptr;
  storage_config cfg;
  storage_ledger ledger;

  // Waiting for the next commit: replies to clients, and answers to actors' requests.
  std::vector<std::pair<route, wire::message>> replies;
  std::vector<std::pair<caf::typed_response_promise<std::uint64_t>, std::uint64_t>> answers;
  bool commit_scheduled = false;
  std::string latched;         ///< the first failed commit; all writes refused from then on
  bool applying_batch = false; ///< apply_batch schedules the commit when the batch ends

  std::uint64_t last_stats_flush = 0; ///< monotonic ms
  bool full_wanted = false;           ///< a subscription asked for a full snapshot not yet sent
  std::optional<std::uint64_t> last_full; ///< monotonic ms of the last full snapshot
  std::uint64_t last_compaction = 0;  ///< monotonic ms
  /// Of what slaves confirm wrongly (another instance's grants): a few lines per minute each.
  std::optional<warning_limit> warnings;

  std::uint64_t minute() const { return cfg.time->epoch_ms() / 60000; }
  std::string failure() const { return "storage failed: " + latched; }
  void flush_stats() {
    ledger.flush_stats();
    last_stats_flush = cfg.time->mono_ms();
  }
};

using storage_self = storage_actor::stateful_pointer<storage_state>;

/// The statistics' key of a query's item: "" (every item) stays "".
std::string stats_key(const std::string& item, const std::string& quality) { return item.empty() ? item : wire::item_key(item, quality); }

void schedule_commit(storage_self self) {
  if (!self->state.commit_scheduled && !self->state.applying_batch) {
    self->state.commit_scheduled = true;
    // Goes to the back of the mailbox: everything already queued is applied first and shares
    // this commit.
    self->send(self, commit_atom::value);
  }
}

void reply(storage_self self, const route& to, wire::message m) {
  if (std::holds_alternative<wire::error_reply>(m))
    metrics::bump(self->state.cfg.counters ? &self->state.cfg.counters->storage_errors : nullptr);
  self->state.replies.emplace_back(to, std::move(m));
  schedule_commit(self);
}

/// Answers an actor's request once the next commit holds what the answer reveals.
caf::result<std::uint64_t> answer_after_commit(storage_self self, std::uint64_t value) {
  auto promise = self->make_response_promise<std::uint64_t>();
  self->state.answers.emplace_back(promise, value);
  schedule_commit(self);
  return promise;
}

/// Refuses an actor's request after a failed commit.
caf::error refusal(storage_self self) {
  metrics::bump(self->state.cfg.counters ? &self->state.cfg.counters->storage_errors : nullptr);
  return caf::error{error_code::unavailable, self->state.failure()};
}

/// Applies one hand-over of jobs (a gateway sweep's exports, requests or confirmations), or
/// refuses them after a failed commit; then schedules the commit: from the batch's end, not its
/// first reply, so that the sweep's other hand-overs, queued behind this one, share it.
template <class Jobs, class Apply> void apply_batch(storage_self self, Jobs& jobs, Apply apply) {
  auto& st = self->state;
  st.applying_batch = true;
  auto minute = st.minute();
  for (auto& job : jobs) {
    if (st.latched.empty())
      reply(self, job.to, apply(st.ledger, job, minute));
    else
      reply(self, job.to, wire::make_error(error_code::unavailable, st.failure()));
  }
  st.applying_batch = false;
  if (!st.replies.empty())
    schedule_commit(self);
}

/// Sends what waited for the commit; or, after a failed commit, the failure to everyone waiting
/// (nothing computed since the last good commit is durable).
void release_waiting(storage_self self) {
  auto& st = self->state;
  if (!st.latched.empty()) {
    for (auto& [to, m] : st.replies)
      st.out->reply(to.peer, wire::encode({to.id, wire::make_error(error_code::unavailable, st.failure())}));
    for (auto& [promise, value] : st.answers)
      promise.deliver(caf::error{error_code::unavailable, st.failure()});
  } else {
    std::vector<outbox::item> out;
    out.reserve(st.replies.size());
    for (auto& [to, m] : st.replies)
      out.push_back({false, std::move(to.peer), wire::encode({to.id, std::move(m)})});
    st.out->push_all(std::move(out));
    for (auto& [promise, value] : st.answers)
      promise.deliver(value);
  }
  st.replies.clear();
  st.answers.clear();
}

/// Writes what changed, then releases the replies and answers that waited for it.
void commit(storage_self self) {
  auto& st = self->state;
  st.commit_scheduled = false;
  auto changes = st.ledger.take_changes();
  if (!changes.empty() && st.latched.empty()) {
    auto committed = st.db->commit(changes);
    if (committed)
      metrics::bump(st.cfg.counters ? &st.cfg.counters->storage_commits : nullptr);
    if (!committed) {
      st.latched = committed.why();
      spdlog::critical("storage: commit failed, refusing every request; reloading from the database in {} s: {}", recover_interval.count(),
                       st.latched);
      self->delayed_send(self, recover_interval, recover_atom::value);
    }
  }
  release_waiting(self);
}

void answer_query(storage_self self, query_job& job) {
  auto& st = self->state;
  std::visit(
    [&](auto& q) {
      using T = std::decay_t<decltype(q)>;
      if constexpr (std::is_same_v<T, wire::resync>) {
        reply(self, job.to, st.ledger.pending_of(q.instance_id));
      } else if constexpr (std::is_same_v<T, wire::reclaim_grant>) {
        if (st.ledger.grants().count(q.grant_id) == 0)
          return reply(self, job.to,
                       wire::make_error(error_code::not_found, "no reservation with grant id " + std::to_string(q.grant_id), "grant_id"));
        if (!st.latched.empty())
          return reply(self, job.to, wire::make_error(error_code::unavailable, st.failure()));
        st.ledger.reclaim(q.grant_id);
        reply(self, job.to, wire::ok{});
      } else if constexpr (std::is_same_v<T, wire::inventory_query>) {
        reply(self, job.to, wire::inventory_levels{st.cfg.time->epoch_ms(), true, st.ledger.all_levels()});
      } else if constexpr (std::is_same_v<T, wire::stats_query>) {
        st.flush_stats();
        commit(self);
        auto rows = st.db->query_stats(stats_key(q.item, q.quality), q.instance_id, st.minute() - q.minutes + 1);
        if (!rows)
          return reply(self, job.to, wire::make_error(error_code::internal, rows.why()));
        wire::stats_reply out;
        for (auto& r : *rows)
          out.points.push_back({r.minute, r.exported, r.imported});
        reply(self, job.to, std::move(out));
      } else {
        reply(self, job.to, wire::make_error(error_code::internal, "storage cannot answer this query"));
      }
    },
    job.msg);
}

/// The storage as the web page shows it: levels plus transfers over the last minutes.
web_storage_view storage_view(storage_self self, std::uint64_t rate_minutes) {
  auto& st = self->state;
  // The unflushed seconds of statistics belong in the rate; flushing only moves them into the
  // next commit, which follows at once (as stats_query does).
  st.flush_stats();
  commit(self);
  web_storage_view v;
  v.rate_minutes = std::clamp<std::uint64_t>(rate_minutes, 1, stats_minute_retention);
  v.failed = !st.latched.empty();
  v.failure = st.latched;
  std::map<std::string, web_item> by_key; // sorted: each name's qualities follow its normal one
  for (auto& [key, count] : st.ledger.counts())
    by_key[key].count = count;
  // The current minute is partial: a window of N minutes is the N-1 full ones plus this one.
  auto rows = st.db->query_rates(st.minute() - v.rate_minutes + 1);
  if (!rows)
    spdlog::warn("storage: web rates unavailable: {}", rows.why());
  for (auto& r : rows.value_or({})) {
    auto& item = by_key[r.name];
    item.exported = r.exported;
    item.imported = r.imported;
  }
  v.items.reserve(by_key.size());
  for (auto& [key, item] : by_key) {
    auto id = wire::item_of_key(key, item.count);
    item.name = std::move(id.name);
    item.quality = std::move(id.quality);
    v.items.push_back(std::move(item));
  }
  v.reservations = st.ledger.grants().size();
  for (auto& [id, r] : st.ledger.grants())
    v.reserved_units += r.count;
  return v;
}

web_series stats_series(storage_self self, const web_stats_query& q) {
  auto& st = self->state;
  st.flush_stats();
  commit(self);
  web_series out;
  auto minutes = std::clamp<std::uint64_t>(q.minutes, 1, max_series_minutes);
  out.bucket_minutes = minutes <= stats_minute_retention ? 1 : 60;
  auto rows = st.db->query_series(stats_key(q.item, q.quality), q.instance_id, st.minute() - minutes + 1, out.bucket_minutes);
  out.error = rows.why();
  out.points.reserve(rows ? rows->size() : 0);
  for (auto& r : rows.value_or({}))
    out.points.push_back({r.minute, r.instance_id, r.exported, r.imported});
  return out;
}

void compact_stats(storage_self self) {
  auto& st = self->state;
  st.last_compaction = st.cfg.time->mono_ms();
  // Only whole hours move, so an hourly row is never split between two compactions' outputs
  // (the upsert would add them up correctly anyway).
  auto keep_from = st.minute() - stats_minute_retention;
  keep_from -= keep_from % 60;
  commit(self); // compaction runs in its own transaction
  if (!st.latched.empty())
    return;
  if (auto compacted = st.db->compact_stats(keep_from); !compacted)
    spdlog::warn("storage: {}", compacted.why()); // statistics only: retried next minute, transfers unaffected
}

/// Publishes the levels changed since the last time on the bus (all of them when `full`), in
/// parts of at most max_bus_levels.
/// A full snapshot goes to every `inventory` subscriber (a PUB socket cannot address one), so
/// subscriptions that arrive together share one: at most one a second, or twenty subscriptions
/// would send twenty full inventories to everyone.
constexpr std::uint64_t full_snapshot_every_ms = 1000;

void publish_levels(storage_self self, bool full) {
  auto& st = self->state;
  auto changed = st.ledger.take_bus_changes();
  if (!full && changed.empty())
    return;
  auto levels = full ? st.ledger.all_levels() : std::move(changed);
  auto now = st.cfg.time->epoch_ms();
  auto parts = std::max<std::size_t>(1, (levels.size() + wire::max_bus_levels - 1) / wire::max_bus_levels);
  for (std::size_t p = 0; p < parts; ++p) {
    auto from = levels.begin() + static_cast<std::ptrdiff_t>(p * wire::max_bus_levels);
    auto to = p + 1 == parts ? levels.end() : from + static_cast<std::ptrdiff_t>(wire::max_bus_levels);
    wire::inventory_levels inv{now, full, wire::item_list(std::make_move_iterator(from), std::make_move_iterator(to)), p + 1, parts};
    st.out->publish(std::string(wire::topic_inventory), wire::encode({0, std::move(inv)}));
  }
}

/// Commits, then publishes the levels that changed, or every level if a subscription asked for
/// them and the last full snapshot is old enough (publish only committed levels).
void publish_due_levels(storage_self self) {
  auto& st = self->state;
  commit(self);
  auto now = st.cfg.time->mono_ms();
  bool full = st.full_wanted && (!st.last_full || now - *st.last_full >= full_snapshot_every_ms);
  publish_levels(self, full);
  if (full) {
    st.full_wanted = false;
    st.last_full = now;
  }
}

/// Opens the database and reads what it holds: at the start, and to recover from a failed commit.
result<std::unique_ptr<storage_db>> open_and_load(const storage_config& cfg, storage_snapshot& snap) {
  auto db = storage_db::open(cfg.db_path, cfg.full_sync);
  if (!db)
    return db;
  auto loaded = (*db)->load();
  if (!loaded)
    return loaded.error().in(cfg.db_path);
  snap = std::move(*loaded);
  return db;
}

/// After a failed commit: reload what was committed, dropping what the failed commit (and the
/// requests refused since) left in memory, and take requests again. If the disk is still full,
/// the next commit fails and latches again.
void recover(storage_self self) {
  auto& st = self->state;
  commit(self); // still latched: answers what waits with the failure, and clears the changes
  storage_snapshot snap;
  auto db = open_and_load(st.cfg, snap);
  if (!db) {
    spdlog::error("storage: cannot reload after the failed commit, retrying in {} s: {}", recover_interval.count(), db.why());
    self->delayed_send(self, recover_interval, recover_atom::value);
    return;
  }
  // The old storage_db goes: its unfolded changes hold the failed commit's. The ledger drops its
  // statistics, the failed commit's transfers among them.
  st.db = std::move(*db);
  st.ledger.adopt(snap);
  st.latched.clear();
  spdlog::warn("storage: reloaded from the database after the failed commit ({} item kinds); taking requests again",
               st.ledger.counts().size());
  // The bus heard only of committed levels; send it what is true now.
  publish_levels(self, true);
}

/// The periodic sweep: statistics made durable, committed levels on the bus, old statistics
/// compacted.
void tick(storage_self self) {
  auto& st = self->state;
  auto& time = *st.cfg.time;
  if (time.mono_ms() - st.last_stats_flush >= stats_flush_ms && st.ledger.has_unflushed_stats())
    st.flush_stats();
  publish_due_levels(self);
  st.warnings->report_suppressed();
  if (time.mono_ms() - st.last_compaction >= stats_compact_ms)
    compact_stats(self);
  self->delayed_send(self, std::chrono::milliseconds(st.cfg.inventory_interval_ms), tick_atom::value);
}

storage_actor::behavior_type storage_fn(storage_self self, std::shared_ptr<storage_snapshot> snap, std::shared_ptr<storage_db> db,
                                        storage_config cfg, outbox* out) {
  auto& st = self->state;
  st.out = out;
  st.cfg = cfg;
  st.db = std::move(db);
  st.ledger = storage_ledger(cfg.max_item_names, cfg.policy, cfg.policy_config, cfg.counters);
  st.ledger.adopt(*snap);
  st.warnings.emplace(*cfg.time);
  st.last_stats_flush = cfg.time->mono_ms();
  self->delayed_send(self, std::chrono::milliseconds(cfg.inventory_interval_ms), tick_atom::value);
  // A clean stop writes the last second of statistics too (the web's graphs survive restarts).
  // An exit handler, not attach_functor: the state is gone when attached functors run.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    self->state.flush_stats();
    commit(self);
    self->quit(msg.reason);
  });
  return {
    [self](export_atom, export_jobs& jobs) {
      apply_batch(self, jobs, [](storage_ledger& l, export_job& j, std::uint64_t minute) { return l.apply_export(j.msg, minute); });
    },
    [self](request_atom, request_jobs& jobs) {
      auto now = self->state.cfg.time->mono_ms();
      apply_batch(self, jobs, [now](storage_ledger& l, request_job& j, std::uint64_t minute) { return l.request(j.msg, minute, now); });
    },
    [self](confirm_atom, confirm_jobs& jobs) {
      apply_batch(self, jobs, [self](storage_ledger& l, confirm_job& j, std::uint64_t minute) -> wire::message {
        storage_ledger::foreign_grants foreign;
        auto ack = l.confirm(j.msg, minute, foreign);
        auto instance = "instance " + std::to_string(j.msg.instance_id);
        if (foreign.count > 0 && self->state.warnings->admit(instance, "storage: confirm of another instance's grants"))
          spdlog::warn("storage: {} confirmed {} grant(s) of other instances (first: grant {} of instance {}); ignored", instance,
                       foreign.count, foreign.first_id, foreign.first_holder);
        return ack;
      });
    },
    [self](query_atom, query_job& job) { answer_query(self, job); },
    [self](next_batch_atom, std::uint64_t instance_id) -> caf::result<std::uint64_t> {
      return answer_after_commit(self, self->state.ledger.next_batch(instance_id));
    },
    [self](drop_instance_atom, std::uint64_t instance_id) -> caf::result<std::uint64_t> {
      if (!self->state.latched.empty())
        return refusal(self);
      auto returned = self->state.ledger.drop_instance(instance_id);
      spdlog::info("storage: instance {} dropped; {} reservation(s) returned to storage", instance_id, returned);
      return answer_after_commit(self, returned);
    },
    [self](publish_full_atom) {
      self->state.full_wanted = true;
      publish_due_levels(self);
    },
    [self](commit_atom) { commit(self); },
    [self](recover_atom) { recover(self); },
    [self](tick_atom) { tick(self); },
    [self](web_storage_atom, std::uint64_t rate_minutes) { return storage_view(self, rate_minutes); },
    [self](web_stats_atom, const web_stats_query& q) { return stats_series(self, q); },
  };
}

} // namespace

result<storage_actor> spawn_storage(caf::actor_system& sys, const storage_config& cfg, outbox& out) {
  auto snap = std::make_shared<storage_snapshot>();
  auto db = open_and_load(cfg, *snap);
  if (!db)
    return db.error();
  std::int64_t total = 0;
  for (auto& [name, count] : snap->counts)
    total += count;
  spdlog::info("storage: loaded {} item kinds ({} units), {} reservation(s)", snap->counts.size(), total, snap->grants.size());
  std::shared_ptr<storage_db> holder(db->release());
  if (cfg.own_thread)
    return sys.spawn<caf::detached>(storage_fn, snap, holder, cfg, &out);
  return sys.spawn(storage_fn, snap, holder, cfg, &out);
}

} // namespace clusterio

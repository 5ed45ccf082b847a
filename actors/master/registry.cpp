#include "actors/master/registry.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/outbox.hpp"
#include "common/sqlite.hpp"
#include "control/instance_owners.hpp"
#include "store/master_db.hpp"

namespace clusterio {

namespace {

constexpr auto liveness_sweep = std::chrono::seconds(1);
/// How long the registry waits for the storage's answer before it tells the client to retry
/// (the storage answers after its next commit: normally within milliseconds).
constexpr auto storage_answer_timeout = std::chrono::seconds(10);
/// Heartbeats kept per instance for the page's sparkline (at 5 s heartbeats: 10 minutes).
constexpr std::size_t recent_ups_points = 120;
/// Per-minute UPS rows older than this are deleted; older graphs show nothing.
constexpr std::uint64_t ups_retention_minutes = 30 * 24 * 60;
/// Beyond this range the UPS history is averaged per hour.
constexpr std::uint64_t ups_minute_resolution_limit = 48 * 60;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS instances(instance_id INTEGER PRIMARY KEY AUTOINCREMENT, slave TEXT NOT NULL,
  name TEXT NOT NULL, game_address TEXT NOT NULL DEFAULT '', UNIQUE(slave, name));
CREATE TABLE IF NOT EXISTS ups_history(minute INTEGER NOT NULL, instance_id INTEGER NOT NULL,
  milli_ups INTEGER NOT NULL, PRIMARY KEY(minute, instance_id)) WITHOUT ROWID;
)sql";

/// The heartbeats of one instance in the current minute, averaged into one ups_history row.
struct ups_minute {
  std::uint64_t minute = 0;
  double sum = 0;
  std::uint64_t n = 0;
};

struct registry_state {
  static inline const char* name = "registry";
  std::shared_ptr<sql::database> db;
  registry_config cfg;
  outbox* out = nullptr;
  instance_owners* owners = nullptr;
  registry_peers peers;
  std::map<std::uint64_t, wire::instance_info> instances;
  std::unordered_map<std::string, std::uint64_t> slave_seen_ms; ///< monotonic
  std::unordered_map<std::uint64_t, std::uint64_t> heard_ms;    ///< instance -> monotonic
  std::unordered_map<std::uint64_t, std::deque<std::pair<std::uint64_t, double>>> recent_ups; ///< (epoch ms, UPS)
  std::unordered_map<std::uint64_t, ups_minute> ups_now;
  std::uint64_t last_ups_prune_minute = 0;

  /// Writes the finished minutes of UPS (all of them when `all`). History only: a failure is
  /// logged, never fatal.
  void flush_ups(bool all) {
    auto minute = cfg.time->epoch_ms() / 60000;
    for (auto it = ups_now.begin(); it != ups_now.end();) {
      auto& m = it->second;
      if (!all && m.minute >= minute) {
        ++it;
        continue;
      }
      if (m.n > 0) {
        auto ins = db->prepare("INSERT OR REPLACE INTO ups_history(minute,instance_id,milli_ups) VALUES(?1,?2,?3)");
        auto recorded = ins.bind(1, static_cast<std::int64_t>(m.minute))
                     .bind(2, static_cast<std::int64_t>(it->first))
                     .bind(3, static_cast<std::int64_t>(m.sum / static_cast<double>(m.n) * 1000.0))
                     .run();
        if (!recorded)
          spdlog::warn("registry: cannot record UPS history: {}", recorded.why());
      }
      it = ups_now.erase(it);
    }
    if (minute >= last_ups_prune_minute + 60) {
      last_ups_prune_minute = minute;
      auto del = db->prepare("DELETE FROM ups_history WHERE minute < ?1");
      if (auto pruned = del.bind(1, static_cast<std::int64_t>(minute > ups_retention_minutes ? minute - ups_retention_minutes : 0)).run(); !pruned)
        spdlog::warn("registry: cannot prune UPS history: {}", pruned.why());
    }
  }

  void record_ups(std::uint64_t id, double ups) {
    auto now = cfg.time->epoch_ms();
    auto& recent = recent_ups[id];
    recent.emplace_back(now, ups);
    while (recent.size() > recent_ups_points)
      recent.pop_front();
    auto& m = ups_now[id];
    if (m.n > 0 && m.minute != now / 60000)
      flush_ups(false);
    auto& cur = ups_now[id];
    if (cur.n == 0)
      cur.minute = now / 60000;
    cur.sum += ups;
    ++cur.n;
  }

  web_instances_view web_view(std::uint64_t offset, std::uint64_t limit) const {
    web_instances_view v;
    auto now = cfg.time->mono_ms();
    // Every slave is looked at to sort them by name, the instances only to mark their slaves
    // online: a slave whose instance heartbeats is online even before its first traffic report.
    std::map<std::string, web_slave> slaves;
    for (auto& [id, info] : instances) {
      auto& s = slaves[info.slave];
      s.name = info.slave;
      s.online = s.online || info.online;
    }
    for (auto& [name, seen] : slave_seen_ms) {
      auto& s = slaves[name];
      s.name = name;
      s.silent_ms = now - seen;
      s.online = s.online || s.silent_ms < cfg.instance_timeout_ms;
    }
    auto window = [&](auto& list, auto&& take) {
      if (offset >= list.size())
        return;
      auto it = std::next(list.begin(), static_cast<std::ptrdiff_t>(offset));
      for (std::uint64_t n = 0; it != list.end() && n < limit; ++it, ++n)
        take(it->first, it->second);
      v.more = v.more || it != list.end();
    };
    window(slaves, [&](const std::string&, const web_slave& s) { v.slaves.push_back(s); });
    window(instances, [&](std::uint64_t id, const wire::instance_info& info) {
      web_instance wi{info, {}};
      if (auto r = recent_ups.find(id); r != recent_ups.end())
        wi.recent_ups.assign(r->second.begin(), r->second.end());
      v.instances.push_back(std::move(wi));
    });
    return v;
  }

  web_ups_series ups_series(std::uint64_t instance_id, std::uint64_t minutes) const {
    web_ups_series out;
    minutes = std::clamp<std::uint64_t>(minutes, 1, ups_retention_minutes);
    std::int64_t bucket = minutes <= ups_minute_resolution_limit ? 1 : 60;
    auto since = cfg.time->epoch_ms() / 60000 - minutes + 1;
    auto q = db->prepare("SELECT minute - minute % ?3 AS b, instance_id, AVG(milli_ups) FROM ups_history "
                         "WHERE minute >= ?1 AND (?2 = 0 OR instance_id = ?2) GROUP BY b, instance_id ORDER BY b, instance_id");
    q.bind(1, static_cast<std::int64_t>(since)).bind(2, static_cast<std::int64_t>(instance_id)).bind(3, bucket);
    while (q.step()) {
      // AVG() is a REAL; int64() truncates it to whole milli-UPS, which is precise enough.
      out.push_back({static_cast<std::uint64_t>(q.int64(0)), static_cast<std::uint64_t>(q.int64(1)), static_cast<double>(q.int64(2)) / 1000.0});
    }
    if (auto status = q.status(); !status)
      spdlog::warn("registry: UPS history query failed: {}", status.why());
    // The minute in progress, so that a fresh instance shows a point at once.
    for (auto& [id, m] : ups_now)
      if (m.n > 0 && (instance_id == 0 || id == instance_id) && bucket == 1)
        out.push_back({m.minute, id, m.sum / static_cast<double>(m.n)});
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.minute < b.minute; });
    return out;
  }

  void publish(const wire::instance_info& info) {
    out->publish(std::string(wire::topic_instance_event), wire::encode({0, info}));
  }
  void reply(const route& to, wire::message m) { out->reply(to.peer, wire::encode({to.id, std::move(m)})); }
};

using registry_self = registry_actor::stateful_pointer<registry_state>;

void do_register(registry_self self, register_job& job) {
  auto& st = self->state;
  std::uint64_t id = 0, of_slave = 0;
  for (auto& [iid, info] : st.instances)
    if (info.slave == job.slave) {
      ++of_slave;
      if (info.name == job.msg.name)
        id = iid;
    }
  if (id == 0 && of_slave >= st.cfg.max_instances_per_slave)
    return st.reply(job.to, wire::make_error(wire::error_code::overloaded,
                                             "slave '" + job.slave + "' has the maximum of " + std::to_string(st.cfg.max_instances_per_slave) +
                                               " instances (max_instances_per_slave); delete one first",
                                             "name"));
  if (id == 0) {
    auto ins = st.db->prepare("INSERT INTO instances(slave,name,game_address) VALUES(?1,?2,?3) RETURNING instance_id");
    ins.bind(1, job.slave).bind(2, job.msg.name).bind(3, job.msg.game_address);
    if (ins.step())
      id = static_cast<std::uint64_t>(ins.int64(0));
    ins.reset();
    if (id == 0) {
      auto why = ins.status().why();
      spdlog::error("registry: cannot record instance {}/{}: {}", job.slave, job.msg.name, why);
      return st.reply(job.to, wire::make_error(wire::error_code::unavailable, "cannot record instance: " + why));
    }
    spdlog::info("registry: new instance {} '{}' on slave '{}'", id, job.msg.name, job.slave);
  } else {
    auto upd = st.db->prepare("UPDATE instances SET game_address=?1 WHERE instance_id=?2");
    if (auto updated = upd.bind(1, job.msg.game_address).bind(2, static_cast<std::int64_t>(id)).run(); !updated)
      spdlog::warn("registry: cannot update instance {}: {}", id, updated.why());
  }
  auto& info = st.instances[id];
  info.instance_id = id;
  info.name = job.msg.name;
  info.slave = job.slave;
  info.game_address = job.msg.game_address;
  info.online = true;
  if (info.state.empty())
    info.state = "starting";
  info.last_seen_ms = st.cfg.time->epoch_ms();
  st.heard_ms[id] = st.cfg.time->mono_ms();
  st.owners->set(id, job.slave);
  st.publish(info);
  // Storage knows which batches were applied: it answers with the batch to send next.
  self->request(st.peers.storage, storage_answer_timeout, next_batch_atom::value, id)
    .then([self, to = job.to, id](std::uint64_t next_batch) { self->state.reply(to, wire::registered{id, next_batch}); },
          [self, to = job.to](caf::error& e) { self->state.reply(to, error_reply_of(e, "storage")); });
}

void heartbeat(registry_self self, const route& to, const wire::heartbeat& hb) {
  auto& st = self->state;
  auto it = st.instances.find(hb.instance_id);
  if (it == st.instances.end())
    return st.reply(to, wire::make_error(wire::error_code::not_found, "unknown instance; register it first", "instance_id"));
  auto& info = it->second;
  info.ups = hb.ups;
  info.tick = hb.tick;
  info.players = hb.players;
  info.state = hb.state;
  info.held_back = hb.held_back;
  info.online = true;
  info.last_seen_ms = st.cfg.time->epoch_ms();
  st.heard_ms[hb.instance_id] = st.cfg.time->mono_ms();
  st.record_ups(hb.instance_id, hb.ups);
  st.publish(info);
  st.reply(to, wire::ok{});
}

/// Forgets the instance; storage returns its reservations and forgets its demand, and the client
/// hears once storage has committed that.
void drop_instance(registry_self self, const route& to, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.instances.find(id);
  if (it == st.instances.end())
    return st.reply(to, wire::make_error(wire::error_code::not_found, "unknown instance", "instance_id"));
  auto del = st.db->prepare("DELETE FROM instances WHERE instance_id=?1");
  if (auto deleted = del.bind(1, static_cast<std::int64_t>(id)).run(); !deleted)
    return st.reply(to, wire::make_error(wire::error_code::unavailable, "cannot delete instance: " + deleted.why()));
  auto info = it->second;
  info.online = false;
  info.state = "deleted";
  st.instances.erase(it);
  st.heard_ms.erase(id);
  st.owners->erase(id);
  st.publish(info);
  spdlog::info("registry: instance {} '{}' of slave '{}' deleted", id, info.name, info.slave);
  self->request(st.peers.storage, storage_answer_timeout, drop_instance_atom::value, id)
    .then([self, to](std::uint64_t) { self->state.reply(to, wire::ok{}); },
          [self, to](caf::error& e) { self->state.reply(to, error_reply_of(e, "storage")); });
}

/// Instances silent for longer than the timeout go offline.
void sweep_liveness(registry_self self) {
  auto& st = self->state;
  auto now = st.cfg.time->mono_ms();
  for (auto& [id, info] : st.instances) {
    auto heard = st.heard_ms.find(id);
    bool alive = heard != st.heard_ms.end() && now - heard->second < st.cfg.instance_timeout_ms;
    if (info.online && !alive) {
      info.online = false;
      spdlog::info("registry: instance {} '{}' is offline (silent for {} ms)", id, info.name, st.cfg.instance_timeout_ms);
      st.publish(info);
    }
  }
}

void load_instances(registry_state& st) {
  auto rows = st.db->prepare("SELECT instance_id,slave,name,game_address FROM instances");
  while (rows.step()) {
    wire::instance_info info;
    info.instance_id = static_cast<std::uint64_t>(rows.int64(0));
    info.slave = rows.text(1);
    info.name = rows.text(2);
    info.game_address = rows.text(3);
    info.state = "unknown";
    st.owners->set(info.instance_id, info.slave);
    st.instances[info.instance_id] = info;
  }
  spdlog::info("registry: {} known instance(s)", st.instances.size());
}

registry_actor::behavior_type registry_fn(registry_self self, std::shared_ptr<sql::database> db, registry_config cfg, outbox* out,
                                          instance_owners* owners, registry_peers peers) {
  auto& st = self->state;
  st.db = std::move(db);
  st.cfg = cfg;
  st.out = out;
  st.owners = owners;
  st.peers = std::move(peers);
  load_instances(st);
  // The minute in progress is written at shutdown, so a restart loses no UPS history.
  // (An exit handler, not attach_functor: the state is gone when attached functors run.)
  self->set_exit_handler([self](caf::exit_msg& msg) {
    self->state.flush_ups(true);
    self->quit(msg.reason);
  });
  self->delayed_send(self, liveness_sweep, tick_atom::value);
  return {
    [self](register_atom, register_job& job) { do_register(self, job); },
    [self](heartbeat_atom, const route& to, const wire::heartbeat& hb) { heartbeat(self, to, hb); },
    [self](seen_atom, const std::string& slave) { self->state.slave_seen_ms[slave] = self->state.cfg.time->mono_ms(); },
    [self](query_atom, const query_job& job) {
      auto* q = std::get_if<wire::slaves_query>(&job.msg);
      if (q == nullptr)
        return self->state.reply(job.to, wire::make_error(wire::error_code::internal, "the registry answers only slaves_query"));
      auto& all = self->state.instances;
      wire::slaves_reply out;
      auto it = all.upper_bound(q->after);
      for (; it != all.end() && out.instances.size() < q->limit; ++it)
        out.instances.push_back(it->second);
      if (it != all.end())
        out.next_after = out.instances.back().instance_id;
      self->state.reply(job.to, std::move(out));
    },
    [self](drop_instance_atom, const route& to, std::uint64_t id) { drop_instance(self, to, id); },
    [self](tick_atom) {
      sweep_liveness(self);
      self->state.flush_ups(false);
      self->delayed_send(self, liveness_sweep, tick_atom::value);
    },
    [self](web_instances_atom, std::uint64_t offset, std::uint64_t limit) { return self->state.web_view(offset, limit); },
    [self](web_ups_atom, std::uint64_t instance_id, std::uint64_t minutes) { return self->state.ups_series(instance_id, minutes); },
  };
}

} // namespace

result<registry_actor> spawn_registry(caf::actor_system& sys, const registry_config& cfg, outbox& out, instance_owners& owners,
                                      registry_peers peers) {
  auto opened = open_master_db(cfg.db_path, true, schema);
  if (!opened)
    return opened.error();
  std::shared_ptr<sql::database> db = std::move(*opened);
  if (cfg.own_thread)
    return sys.spawn<caf::detached>(registry_fn, db, cfg, &out, &owners, std::move(peers));
  return sys.spawn(registry_fn, db, cfg, &out, &owners, std::move(peers));
}

} // namespace clusterio

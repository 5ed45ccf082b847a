#include "actors/registry.hpp"

#include <chrono>
#include <map>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/instance_owners.hpp"
#include "actors/jobs.hpp"
#include "common/clock.hpp"
#include "common/outbox.hpp"
#include "common/sqlite.hpp"

namespace clusterio {

namespace {

constexpr auto liveness_sweep = std::chrono::seconds(1);

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS instances(instance_id INTEGER PRIMARY KEY AUTOINCREMENT, slave TEXT NOT NULL,
  name TEXT NOT NULL, game_address TEXT NOT NULL DEFAULT '', UNIQUE(slave, name));
)sql";

struct registry_state {
  static inline const char* name = "registry";
  std::shared_ptr<sql::database> db;
  registry_config cfg;
  outbox* out = nullptr;
  instance_owners* owners = nullptr;
  caf::actor storage, demand;
  std::map<std::uint64_t, wire::instance_info> instances;
  std::unordered_map<std::string, std::uint64_t> slave_seen_ms; ///< monotonic
  std::unordered_map<std::uint64_t, std::uint64_t> heard_ms;    ///< instance -> monotonic

  void publish(const wire::instance_info& info) {
    out->publish(std::string(wire::topic_instance_event), wire::encode({0, info}));
  }
  void reply(const route& to, wire::message m) { out->reply(to.peer, wire::encode({to.id, std::move(m)})); }
};

using registry_actor = caf::stateful_actor<registry_state>;

void do_register(registry_actor* self, register_job& job) {
  auto& st = self->state;
  std::uint64_t id = 0;
  for (auto& [iid, info] : st.instances)
    if (info.slave == job.slave && info.name == job.msg.name)
      id = iid;
  if (id == 0) {
    auto ins = st.db->prepare("INSERT INTO instances(slave,name,game_address) VALUES(?1,?2,?3) RETURNING instance_id");
    ins.bind(1, job.slave).bind(2, job.msg.name).bind(3, job.msg.game_address);
    if (ins.step())
      id = static_cast<std::uint64_t>(ins.int64(0));
    ins.reset();
    if (id == 0) {
      spdlog::error("registry: cannot record instance {}/{}: {}", job.slave, job.msg.name, ins.error());
      return st.reply(job.to, wire::make_error(wire::error_code::unavailable, "cannot record instance: " + ins.error()));
    }
    spdlog::info("registry: new instance {} '{}' on slave '{}'", id, job.msg.name, job.slave);
  } else {
    auto upd = st.db->prepare("UPDATE instances SET game_address=?1 WHERE instance_id=?2");
    auto why = upd.bind(1, job.msg.game_address).bind(2, static_cast<std::int64_t>(id)).run();
    if (!why.empty())
      spdlog::warn("registry: cannot update instance {}: {}", id, why);
  }
  auto& info = st.instances[id];
  info.instance_id = id;
  info.name = job.msg.name;
  info.slave = job.slave;
  info.game_address = job.msg.game_address;
  info.online = true;
  if (info.state.empty())
    info.state = "starting";
  info.last_seen_ms = epoch_ms();
  st.heard_ms[id] = mono_ms();
  st.owners->set(id, job.slave);
  st.publish(info);
  // Storage knows which batches were applied; it completes and sends the reply.
  self->send(st.storage, next_batch_atom::value, job.to, wire::registered{id, 1});
}

caf::behavior registry_fn(registry_actor* self, std::shared_ptr<sql::database> db, registry_config cfg, outbox* out,
                          instance_owners* owners, caf::actor storage, caf::actor demand) {
  auto& st = self->state;
  st.db = std::move(db);
  st.cfg = cfg;
  st.out = out;
  st.owners = owners;
  st.storage = storage;
  st.demand = demand;
  auto rows = st.db->prepare("SELECT instance_id,slave,name,game_address FROM instances");
  while (rows.step()) {
    wire::instance_info info;
    info.instance_id = static_cast<std::uint64_t>(rows.int64(0));
    info.slave = rows.text(1);
    info.name = rows.text(2);
    info.game_address = rows.text(3);
    info.state = "unknown";
    owners->set(info.instance_id, info.slave);
    st.instances[info.instance_id] = info;
  }
  spdlog::info("registry: {} known instance(s)", st.instances.size());
  self->delayed_send(self, liveness_sweep, tick_atom::value);
  return {
    [self](register_atom, register_job& job) { do_register(self, job); },
    [self](heartbeat_atom, const route& to, const wire::heartbeat& hb) {
      auto& st = self->state;
      auto it = st.instances.find(hb.instance_id);
      if (it == st.instances.end())
        return st.reply(to, wire::make_error(wire::error_code::not_found, "unknown instance; register it first", "instance_id"));
      auto& info = it->second;
      info.ups = hb.ups;
      info.tick = hb.tick;
      info.players = hb.players;
      info.state = hb.state;
      info.online = true;
      info.last_seen_ms = epoch_ms();
      st.heard_ms[hb.instance_id] = mono_ms();
      st.publish(info);
      st.reply(to, wire::ok{});
    },
    [self](seen_atom, const std::string& slave) { self->state.slave_seen_ms[slave] = mono_ms(); },
    [self](query_atom, const query_job& job) {
      auto& st = self->state;
      wire::slaves_reply out;
      for (auto& [id, info] : st.instances)
        out.instances.push_back(info);
      st.reply(job.to, std::move(out));
    },
    [self](drop_instance_atom, const route& to, std::uint64_t id) {
      auto& st = self->state;
      auto it = st.instances.find(id);
      if (it == st.instances.end())
        return st.reply(to, wire::make_error(wire::error_code::not_found, "unknown instance", "instance_id"));
      auto del = st.db->prepare("DELETE FROM instances WHERE instance_id=?1");
      auto why = del.bind(1, static_cast<std::int64_t>(id)).run();
      if (!why.empty())
        return st.reply(to, wire::make_error(wire::error_code::unavailable, "cannot delete instance: " + why));
      auto info = it->second;
      info.online = false;
      info.state = "deleted";
      st.instances.erase(it);
      st.heard_ms.erase(id);
      st.owners->erase(id);
      st.publish(info);
      spdlog::info("registry: instance {} '{}' of slave '{}' deleted", id, info.name, info.slave);
      self->send(st.demand, drop_instance_atom::value, id);
      self->send(st.storage, drop_instance_atom::value, to, id);
    },
    [self](tick_atom) {
      auto& st = self->state;
      auto now = mono_ms();
      for (auto& [id, info] : st.instances) {
        auto heard = st.heard_ms.find(id);
        bool alive = heard != st.heard_ms.end() && now - heard->second < st.cfg.instance_timeout_ms;
        if (info.online && !alive) {
          info.online = false;
          spdlog::info("registry: instance {} '{}' is offline (silent for {} ms)", id, info.name, st.cfg.instance_timeout_ms);
          st.publish(info);
        }
      }
      self->delayed_send(self, liveness_sweep, tick_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_registry(caf::actor_system& sys, const registry_config& cfg, outbox& out, instance_owners& owners,
                          caf::actor storage, caf::actor demand, std::string& why) {
  std::shared_ptr<sql::database> db = sql::database::open(cfg.db_path, true, why);
  if (!db)
    return {};
  why = db->exec(schema);
  if (!why.empty())
    return {};
  return sys.spawn<caf::detached>(registry_fn, db, cfg, &out, &owners, storage, demand);
}

} // namespace clusterio

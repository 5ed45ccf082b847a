#include "actors/slave/manager.hpp"

#include <cstdio>
#include <string>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/slave/slave_jobs.hpp"

namespace clusterio {

namespace {

struct manager_state {
  static inline const char* name = "manager";
  std::vector<caf::actor> instances;
  std::size_t alive = 0;
  bool stopping = false;
};

using manager_actor = caf::stateful_actor<manager_state>;

caf::behavior manager_fn(manager_actor* self, manager_params params, caf::actor uplink) {
  auto& st = self->state;
  for (auto& p : params.instances) {
    std::remove((p.dir + "/stop-request").c_str()); // a request meant for an earlier run
    auto a = spawn_instance(self->system(), p, uplink);
    self->monitor(a);
    st.instances.push_back(a);
  }
  st.alive = st.instances.size();
  self->set_down_handler([self](caf::down_msg&) {
    if (--self->state.alive == 0)
      self->quit();
  });
  if (st.alive == 0)
    self->quit();
  return {
    [self, wait = params.shutdown_wait](stop_atom) {
      auto& st = self->state;
      if (st.stopping)
        return;
      st.stopping = true;
      spdlog::info("stopping every instance");
      for (auto& a : st.instances)
        self->send(a, stop_atom::value);
      self->delayed_send(self, wait, timer_atom::value);
    },
    [self](timer_atom) {
      spdlog::error("{} instance(s) did not stop in time; ending them", self->state.alive);
      for (auto& a : self->state.instances)
        self->send_exit(a, caf::exit_reason::user_shutdown);
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_manager(caf::actor_system& sys, manager_params params, caf::actor uplink) {
  return sys.spawn(manager_fn, std::move(params), std::move(uplink));
}

} // namespace clusterio

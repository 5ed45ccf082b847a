#include "actors/slave/manager.hpp"

#include <cstdio>
#include <string>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace clusterio {

namespace {

/// Internal: the end of the shutdown wait.
using manager_impl = manager_actor::extend<caf::reacts_to<timer_atom>>;

struct manager_state {
  static inline const char* name = "manager";
  std::vector<supervisor_actor> instances;
  std::size_t alive = 0;
  bool stopping = false;
};

using manager_pointer = manager_impl::stateful_pointer<manager_state>;

manager_impl::behavior_type manager_fn(manager_pointer self, manager_params params, uplink_actor uplink) {
  auto& st = self->state;
  for (auto& p : params.instances) {
    std::remove((p.dir + "/stop-request").c_str()); // a request meant for an earlier run
    auto a = spawn_supervisor(self->system(), p, &machine_clock(), uplink);
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

manager_actor spawn_manager(caf::actor_system& sys, manager_params params, uplink_actor uplink) {
  return sys.spawn(manager_fn, std::move(params), std::move(uplink));
}

} // namespace clusterio

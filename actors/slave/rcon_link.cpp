#include "actors/slave/rcon_link.hpp"

#include <memory>
#include <unordered_map>

#include <caf/all.hpp>

namespace clusterio {

namespace {

/// How often an established connection is checked: a drop is noticed within this.
constexpr auto check_interval = std::chrono::milliseconds(500);

/// Internal messages: replies from the client's reader thread, and the check timer.
using rcon_link_impl = rcon_link_actor::extend<caf::reacts_to<rcon_reply_atom, std::uint64_t, rcon::reply>, caf::reacts_to<timer_atom>>;

struct rcon_link_state {
  static inline const char* name = "rcon_link";
  std::unique_ptr<rcon::client> client;
  bool established = false; ///< connected once: a drop now ends the link
  std::uint64_t next_id = 1;
  /// Commands sent, by the id their reply comes back with from the reader thread.
  std::unordered_map<std::uint64_t, caf::typed_response_promise<rcon::reply>> waiting;
};

using rcon_link_pointer = rcon_link_impl::stateful_pointer<rcon_link_state>;

void fail_waiting(rcon_link_pointer self, const std::string& why) {
  for (auto& [id, promise] : self->state.waiting)
    promise.deliver(rcon::reply{failure(why)});
  self->state.waiting.clear();
}

caf::result<rcon::reply> on_call(rcon_link_pointer self, std::string& command) {
  auto& st = self->state;
  if (!st.client->connected())
    return rcon::reply{failure("not connected")};
  auto id = st.next_id++;
  auto promise = self->make_response_promise<rcon::reply>();
  st.waiting.emplace(id, promise);
  // The callback runs on the client's reader thread: back into the actor with the reply.
  auto me = caf::actor_cast<rcon_link_impl>(self);
  st.client->send(std::move(command), [me, id](rcon::reply r) { caf::anon_send(me, rcon_reply_atom::value, id, std::move(r)); });
  return promise;
}

rcon_link_impl::behavior_type rcon_link_fn(rcon_link_pointer self, rcon::client_options options) {
  self->state.client = std::make_unique<rcon::client>(options);
  self->set_exit_handler([self](caf::exit_msg& msg) {
    fail_waiting(self, "disconnected: the RCON link was closed");
    self->quit(msg.reason);
  });
  return {
    [self](rcon_connect_atom) -> result<void> {
      auto connected = self->state.client->connect(); // blocks: this actor has its own thread
      if (connected && !self->state.established) {
        self->state.established = true;
        self->delayed_send(self, check_interval, timer_atom::value);
      }
      return connected;
    },
    [self](rcon_call_atom, std::string& command) { return on_call(self, command); },
    [self](rcon_reply_atom, std::uint64_t id, rcon::reply& r) {
      auto it = self->state.waiting.find(id);
      if (it == self->state.waiting.end())
        return;
      it->second.deliver(std::move(r));
      self->state.waiting.erase(it);
    },
    [self](timer_atom) {
      if (!self->state.client->connected()) {
        fail_waiting(self, "disconnected: the RCON connection dropped");
        self->quit();
        return;
      }
      self->delayed_send(self, check_interval, timer_atom::value);
    },
  };
}

} // namespace

rcon_link_actor spawn_rcon_link(caf::actor_system& sys, rcon::client_options options) {
  return sys.spawn<caf::detached>(rcon_link_fn, std::move(options));
}

} // namespace clusterio

#include "control/authentication.hpp"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include "messages/field.hpp"

namespace clusterio {

result<std::unique_ptr<authentication>> authentication::open(const std::string& db_path, warning_limit& warnings) {
  auto clients = allow_list::open(db_path);
  if (!clients)
    return clients.error();
  std::unique_ptr<authentication> auth(new authentication(std::move(*clients), &warnings));
  auth->clients_->changed(); // remember the version loaded now
  auth->reload();
  return auth;
}

std::unique_ptr<authentication> authentication::insecure() {
  return std::unique_ptr<authentication>(new authentication(nullptr, nullptr));
}

void authentication::reload() {
  auto all = clients_->load();
  if (!all) {
    spdlog::error("gateway: cannot read the allow-list: {}", all.why());
    return;
  }
  std::unordered_map<std::string, allow_list::entry> now;
  for (auto& e : *all)
    now[e.public_key] = e;
  for (auto& [key, e] : by_key_)
    if (!now.count(key))
      keys_revoked_ = true;
  by_key_ = std::move(now);
}

void authentication::check_for_changes() {
  if (clients_ && clients_->changed())
    reload();
}

authentication::zap_verdict authentication::decide(const std::vector<std::string_view>& request) {
  zap_verdict verdict;
  if (!clients_ || request.size() < 7 || request[5] != "CURVE" || request[6].size() != 32)
    return verdict;
  char z85[41];
  zmq_z85_encode(z85, reinterpret_cast<const std::uint8_t*>(request[6].data()), 32);
  auto it = by_key_.find(z85);
  if (it == by_key_.end() && clients_->changed()) {
    reload();
    it = by_key_.find(z85);
  }
  if (it == by_key_.end()) {
    // Anyone who reaches the port can knock, with as many keys as they like: limited by address.
    if (warnings_->admit(request[3], "gateway: unknown CURVE key"))
      spdlog::warn("gateway: refused unknown CURVE key {} from {}", z85, request[3]);
    return verdict;
  }
  return {"200", "OK", z85};
}

peer authentication::identify(const std::string& routing_id, const char* user_id) const {
  if (!clients_) {
    auto it = insecure_names_.find(routing_id);
    if (it != insecure_names_.end())
      return {it->second, role::admin, rights::all};
    auto dot = routing_id.rfind('.');
    auto prefix = dot == std::string::npos ? std::string() : routing_id.substr(0, dot);
    return {wire::check_label(prefix) ? prefix : "anonymous", role::admin, rights::all};
  }
  if (!user_id)
    return {};
  auto it = by_key_.find(user_id);
  if (it == by_key_.end())
    return {};
  return {it->second.name, it->second.role, rights_of(it->second.role)};
}

void authentication::note_hello(const std::string& routing_id, const std::string& name, peer& who) {
  if (clients_)
    return; // the allow-list names the client, whatever its hello says
  insecure_names_[routing_id] = name;
  who.name = name;
}

} // namespace clusterio

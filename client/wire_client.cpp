#include "client/wire_client.hpp"

#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/zmq_endpoint.hpp"

namespace clusterio {

void apply_curve(zmq::socket_t& s, const std::optional<credential>& cred) {
  if (!cred)
    return;
  s.set(zmq::sockopt::curve_serverkey, cred->master_public_key);
  s.set(zmq::sockopt::curve_publickey, cred->keys.public_key);
  s.set(zmq::sockopt::curve_secretkey, cred->keys.secret_key);
}

namespace {

wire::frame undecodable(const wire::decoded& d) {
  return {d.id, wire::make_error(d.err)};
}

} // namespace

wire_client::wire_client(const std::string& endpoint, const std::optional<credential>& cred)
  : ctx_(std::make_unique<zmq::context_t>(1)), sock_(std::make_unique<zmq::socket_t>(*ctx_, zmq::socket_type::dealer)) {
  sock_->set(zmq::sockopt::linger, 0);
  apply_curve(*sock_, cred);
  allow_ipv6_for(*sock_, endpoint);
  sock_->connect(endpoint);
}

wire_client::~wire_client() = default;

std::uint64_t wire_client::send(wire::message m) {
  auto id = next_id_++;
  send_raw(wire::encode({id, std::move(m)}));
  return id;
}

void wire_client::send_raw(const std::string& bytes) { sock_->send(zmq::buffer(bytes), zmq::send_flags::none); }

std::optional<std::string> wire_client::recv_raw(std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{sock_->handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) <= 0)
    return std::nullopt;
  zmq::message_t msg;
  if (!sock_->recv(msg, zmq::recv_flags::dontwait))
    return std::nullopt;
  return msg.to_string();
}

std::optional<wire::frame> wire_client::recv(std::chrono::milliseconds timeout) {
  if (unread_.empty()) {
    auto bytes = recv_raw(timeout);
    if (!bytes)
      return std::nullopt;
    // The master batches its replies only to a client that sent a batch (send_raw).
    std::vector<wire::decoded> decoded;
    wire::decode_frame(*bytes, decoded);
    for (auto& d : decoded)
      unread_.push_back(d.ok ? std::move(d.value) : undecodable(d));
  }
  auto f = std::move(unread_.front());
  unread_.pop_front();
  return f;
}

std::optional<wire::frame> wire_client::call(wire::message m, std::chrono::milliseconds timeout) {
  auto id = send(std::move(m));
  auto deadline = mono_ms() + static_cast<std::uint64_t>(timeout.count());
  while (true) {
    auto now = mono_ms();
    if (now >= deadline)
      return std::nullopt;
    auto f = recv(std::chrono::milliseconds(deadline - now));
    if (!f)
      return std::nullopt;
    if (f->id == id)
      return f;
  }
}

bus_subscriber::bus_subscriber(const std::string& endpoint, const std::optional<credential>& cred, const std::string& topic_prefix)
  : ctx_(std::make_unique<zmq::context_t>(1)), sock_(std::make_unique<zmq::socket_t>(*ctx_, zmq::socket_type::sub)) {
  sock_->set(zmq::sockopt::linger, 0);
  apply_curve(*sock_, cred);
  sock_->set(zmq::sockopt::subscribe, topic_prefix);
  allow_ipv6_for(*sock_, endpoint);
  sock_->connect(endpoint);
}

bus_subscriber::~bus_subscriber() = default;

void bus_subscriber::subscribe(const std::string& topic_prefix) { sock_->set(zmq::sockopt::subscribe, topic_prefix); }

std::optional<std::pair<std::string, wire::frame>> bus_subscriber::recv(std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{sock_->handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) <= 0)
    return std::nullopt;
  zmq::message_t topic, body;
  if (!sock_->recv(topic, zmq::recv_flags::dontwait) || !topic.more() || !sock_->recv(body))
    return std::nullopt;
  auto d = wire::decode(body.to_string_view());
  return std::make_pair(topic.to_string(), d.ok ? d.value : undecodable(d));
}

} // namespace clusterio

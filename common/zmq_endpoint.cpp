#include "common/zmq_endpoint.hpp"

#include <zmq.hpp>

namespace clusterio {

std::string tcp_endpoint(const std::string& host, int port) {
  bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return "tcp://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void allow_ipv6_for(zmq::socket_t& s, const std::string& endpoint) {
  if (endpoint.find("://[") != std::string::npos)
    s.set(zmq::sockopt::ipv6, 1);
}

} // namespace clusterio

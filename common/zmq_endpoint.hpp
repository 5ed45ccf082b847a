#pragma once
// TCP endpoints for ZeroMQ sockets, over IPv4 or IPv6.

#include <string>

namespace zmq {
class socket_t;
} // namespace zmq

namespace clusterio {

/// "tcp://HOST:PORT"; an IPv6 address ("::1", "::") goes in brackets, as ZeroMQ spells it.
std::string tcp_endpoint(const std::string& host, int port);

/// Call before bind or connect. ZeroMQ speaks IPv6 only when told, so a socket for a bracketed
/// address ("tcp://[::1]:7100", "tcp://[::]:7100": IPv4 too) gets it on. Others keep it off:
/// with it on, a host name such as localhost may resolve to ::1 while the master listens on
/// IPv4 only.
void allow_ipv6_for(zmq::socket_t& s, const std::string& endpoint);

} // namespace clusterio

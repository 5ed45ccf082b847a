#pragma once
// Session messages: the handshake, generic replies and errors.
//
//   client -> master   hello            first message on a connection; any role
//   master -> client   welcome          reply to hello
//   master -> client   ok               reply to requests that return nothing
//   master -> client   error            reply to any request that failed (see error.hpp)

#include "field.hpp"
#include "limits.hpp"

namespace clusterio::wire {

/// Opens a session. With CURVE the master knows who the client is from its key; `name` is
/// then informative. In insecure mode (local demo only) `name` is the identity.
struct hello {
  static constexpr const char* type = "hello";
  std::string name;     ///< label: the slave's or tool's name
  std::string software; ///< text: e.g. "clusterio-slave/0.1.0"
};
template <class V> void describe(V& v, hello& x) {
  v.text("name", x.name, text_kind::label);
  v.text("software", x.software, text_kind::text, presence::optional);
}

/// Reply to hello: who the master thinks the client is, and how often to heartbeat.
struct welcome {
  static constexpr const char* type = "welcome";
  std::string name;               ///< label: the credential's name
  std::string role;               ///< label: "slave", "publisher", "subscriber" or "admin"
  std::uint32_t heartbeat_ms = 0; ///< send a heartbeat at least this often (milliseconds)
  std::uint64_t time_ms = 0;      ///< master's clock, Unix epoch milliseconds
  /// The master reads batch frames (several messages in one, docs/protocol.md §3), and answers a
  /// client that sends them with batches too. Absent (false) from masters before batches.
  bool batch = false;
};
template <class V> void describe(V& v, welcome& x) {
  v.text("name", x.name, text_kind::label);
  v.text("role", x.role, text_kind::label);
  v.u64("heartbeat_ms", x.heartbeat_ms, 1, 3'600'000);
  v.u64("time_ms", x.time_ms);
  v.flag("batch", x.batch, presence::optional);
}

/// Reply to a request that succeeded and returns nothing.
struct ok {
  static constexpr const char* type = "ok";
};
template <class V> void describe(V&, ok&) {}

/// Reply to a request that failed; nothing of the request was applied.
struct error_reply {
  static constexpr const char* type = "error";
  error_code code = error_code::internal; ///< on the wire its name: "invalid", "unauthorized", ...
  std::string field;   ///< text: the offending field's path, or ""
  std::string message; ///< text: what went wrong
};
template <class V> void describe(V& v, error_reply& x) {
  v.code("code", x.code);
  v.text("field", x.field, text_kind::text, presence::optional);
  v.text("message", x.message, text_kind::text);
}

} // namespace clusterio::wire

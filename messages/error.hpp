#pragma once
// Errors of the wire protocol, classified by what the receiver should do next (as in Cap'n
// Proto's Exception.Type). The code travels as a string in the `error` message.

#include <string>
#include <string_view>

namespace clusterio::wire {

enum class error_code {
  invalid,      ///< The frame or a field is malformed or out of limits. Do not retry it.
  unauthorized, ///< The credential's role may not do this. Do not retry.
  not_found,    ///< Unknown instance, grant or item. Re-register or drop the request.
  overloaded,   ///< The master is shedding load. Back off, then retry.
  unavailable,  ///< The master cannot serve this now (e.g. storage failed). Reconnect and resync.
  unsupported,  ///< Unknown message type or protocol version. Do not retry.
  internal,     ///< A bug on the master. Retry later; report it.
  conflict,     ///< The request contradicts the current state (a name in use, an instance already running). Do not retry as is.
};

std::string_view to_string(error_code code);
bool from_string(std::string_view text, error_code& out);

/// An error with the context needed to act on it: which field, and why.
struct error {
  error_code code = error_code::internal;
  std::string field;   ///< Path of the offending field, e.g. "items[3].count"; may be empty.
  std::string message; ///< Human readable explanation.

  std::string to_string() const;
};

} // namespace clusterio::wire

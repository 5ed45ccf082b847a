#pragma once
// Errors of the wire protocol, classified by what the receiver should do next (as in Cap'n
// Proto's Exception.Type). The code travels as a string in the `error` message.

#include <string>
#include <string_view>

#include "common/result.hpp"

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

/// A failure carrying the code a command's answer is to have (a failure's code 0 means "none",
/// so the code is kept one above its value: `invalid` is 0).
inline failure coded_failure(std::string what, error_code code) { return failure(std::move(what), static_cast<int>(code) + 1); }

/// The code coded_failure gave `f`, or `otherwise` when it has none.
inline error_code code_of(const failure& f, error_code otherwise) {
  auto c = f.code() - 1;
  return c >= 0 && c <= static_cast<int>(error_code::conflict) ? static_cast<error_code>(c) : otherwise;
}

} // namespace clusterio::wire

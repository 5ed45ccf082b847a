#pragma once
// The game -> slave channel: lines on the server's stdout of the form
//   "\f$ipc:" <channel, with 0x00-0x1F, '?' and '\' escaped as \xHH> "?" <kind> <payload>
// kind 'j': payload is JSON on the line; kind 'f': payload is a file name in script-output/
// holding the JSON (for payloads of 4,000 bytes and more). The file is read whole, then deleted:
// never truncated while the game may append (truncating it loses what the game writes meanwhile).

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace clusterio::ipc {

/// True if the line is an IPC line (starts with "\f$ipc:").
bool is_ipc(std::string_view line);

struct message {
  std::string channel;
  std::string json; ///< the JSON text (from the line or from the file)
};

/// Parses an IPC line. For kind 'f', reads and deletes <script_output_dir>/<name>. Never throws.
result<message> parse(std::string_view line, const std::string& script_output_dir);

} // namespace clusterio::ipc

#pragma once
// Any message as JSON, field for field as the wire has it (the same describe() listings the
// codec walks): what `clusterio-ctl --json` prints and the web API answers with, so that a
// script reads the names docs/protocol.md gives. Items and signals are objects
// ({"name", "count"|"value", "type", "quality"}), an error code its name; an empty optional
// label is left out, as on the wire.

#include <nlohmann/json.hpp>

#include "messages/message.hpp"

namespace clusterio::wire {

/// The message's fields, plus "t": its type.
nlohmann::json to_json(const message& m);

} // namespace clusterio::wire

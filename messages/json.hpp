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

/// A message of `type` from its fields as JSON (with or without "t", so to_json's output reads
/// back), checked exactly as the wire checks a frame (it
/// is one: the fields go through the codec's decoder), so a web client's command is held to the
/// same limits as a tool's. Only for messages without items or signals, whose JSON shape is
/// not their wire shape. A failure names the field.
result<message> from_json(std::string_view type, nlohmann::json fields);

} // namespace clusterio::wire

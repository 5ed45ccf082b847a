#pragma once
// Base64 (RFC 4648, standard alphabet, padded; libsodium's): how the wire carries the pieces of
// a save, which are bytes, in a text field.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace clusterio {

std::string base64_encode(std::string_view bytes);
/// The bytes, or nothing when `text` is not padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);
/// How many bytes padded base64 `text` (already checked) stands for, without decoding it.
std::size_t base64_decoded_size(std::string_view text);

} // namespace clusterio

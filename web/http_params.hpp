#pragma once
// Parsing of the web API's query parameters, kept free of CAF and of the HTTP server so that it can
// be fuzzed (fuzz/http_params_fuzz.cpp) and tested alone. The query string itself is split and
// URL-decoded by libmicrohttpd into `params` (a multimap: a key may repeat; the first value counts).

#include <cstdint>
#include <map>
#include <string>

#include "common/result.hpp"

namespace clusterio::web {

using params = std::multimap<std::string, std::string>;

/// How far back graphs may go: one year of minutes.
inline constexpr std::uint64_t max_graph_minutes = 366 * 24 * 60;

/// Reads an optional unsigned decimal parameter: `absent` when it is not there, its value when it
/// is 0..2^64-1 in plain decimal digits. Anything else (empty, sign, spaces, overflow, trailing
/// text) is a failure naming the key.
result<std::uint64_t> uint_param(const params& p, const char* key, std::uint64_t absent);

/// As uint_param, then requires min..max.
result<std::uint64_t> range_param(const params& p, const char* key, std::uint64_t absent, std::uint64_t min, std::uint64_t max);

/// range_param with 1..max_graph_minutes.
result<std::uint64_t> minutes_param(const params& p, const char* key, std::uint64_t absent);

/// The first value of `key`, or "" when absent.
std::string text_param(const params& p, const char* key);

} // namespace clusterio::web

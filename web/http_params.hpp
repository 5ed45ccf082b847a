#pragma once
// Parsing of the web API's query parameters, kept free of CAF and of the HTTP server so that it can
// be fuzzed (fuzz/http_params_fuzz.cpp) and tested alone. The query string itself is split and
// URL-decoded by cpp-httplib into `params` (a multimap: a key may repeat; the first value counts).

#include <cstdint>
#include <map>
#include <string>

namespace clusterio::web {

using params = std::multimap<std::string, std::string>;

/// How far back graphs may go: one year of minutes.
inline constexpr std::uint64_t max_graph_minutes = 366 * 24 * 60;

/// Reads an optional unsigned decimal parameter. Absent: true and `out` untouched. Present and
/// 0..2^64-1 in plain decimal digits: true and `out` set. Anything else (empty, sign, spaces,
/// overflow, trailing text): false, `out` untouched, and `why` names the key.
bool uint_param(const params& p, const char* key, std::uint64_t& out, std::string& why);

/// As uint_param, then requires 1..max_graph_minutes.
bool minutes_param(const params& p, const char* key, std::uint64_t& out, std::string& why);

/// The first value of `key`, or "" when absent.
std::string text_param(const params& p, const char* key);

} // namespace clusterio::web

#include "web/http_params.hpp"

namespace clusterio::web {

result<std::uint64_t> uint_param(const params& p, const char* key, std::uint64_t absent) {
  auto it = p.lower_bound(key);
  if (it == p.end() || it->first != key)
    return absent;
  const std::string& text = it->second;
  std::uint64_t v = 0;
  bool ok = !text.empty();
  for (char c : text) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      ok = false;
      break;
    }
    v = v * 10 + d;
  }
  if (!ok)
    return failure(std::string("query parameter '") + key + "' must be an unsigned integer");
  return v;
}

result<std::uint64_t> range_param(const params& p, const char* key, std::uint64_t absent, std::uint64_t min, std::uint64_t max) {
  auto v = uint_param(p, key, absent);
  if (v && (*v < min || *v > max))
    return failure(std::string("query parameter '") + key + "' must be " + std::to_string(min) + ".." + std::to_string(max));
  return v;
}

result<std::uint64_t> minutes_param(const params& p, const char* key, std::uint64_t absent) {
  return range_param(p, key, absent, 1, max_graph_minutes);
}

std::string text_param(const params& p, const char* key) {
  auto it = p.lower_bound(key);
  return it == p.end() || it->first != key ? std::string() : it->second;
}

} // namespace clusterio::web

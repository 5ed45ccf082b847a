#include "web/http_params.hpp"

namespace clusterio::web {

bool uint_param(const params& p, const char* key, std::uint64_t& out, std::string& why) {
  auto it = p.lower_bound(key);
  if (it == p.end() || it->first != key)
    return true;
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
  if (!ok) {
    why = std::string("query parameter '") + key + "' must be an unsigned integer";
    return false;
  }
  out = v;
  return true;
}

bool minutes_param(const params& p, const char* key, std::uint64_t& out, std::string& why) {
  std::uint64_t v = out;
  if (!uint_param(p, key, v, why))
    return false;
  if (v == 0 || v > max_graph_minutes) {
    why = std::string("query parameter '") + key + "' must be 1.." + std::to_string(max_graph_minutes);
    return false;
  }
  out = v;
  return true;
}

std::string text_param(const params& p, const char* key) {
  auto it = p.lower_bound(key);
  return it == p.end() || it->first != key ? std::string() : it->second;
}

} // namespace clusterio::web

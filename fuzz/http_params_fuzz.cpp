// Fuzzes the web API's query parameters: the query string is split at '&' and '=' and each part
// URL-decoded by libmicrohttpd's MHD_http_unescape (as the server's requests are), then
// web/http_params.cpp reads the parameters the API uses. Invariants: no crash; an accepted
// number is what its digits say; minutes and ranges within their bounds.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <microhttpd.h>

#include "web/http_params.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace clusterio::web;
  std::string query(reinterpret_cast<const char*>(data), size);
  params p;
  auto decoded = [](std::string text) {
    text.resize(MHD_http_unescape(text.data())); // stops at a NUL, as a C string
    return text;
  };
  for (std::size_t at = 0; at <= query.size();) {
    auto end = std::min(query.find('&', at), query.size());
    auto pair = query.substr(at, end - at);
    auto eq = pair.find('=');
    p.emplace(decoded(pair.substr(0, eq)), eq == std::string::npos ? std::string() : decoded(pair.substr(eq + 1)));
    at = end + 1;
  }
  for (const char* key : {"rate_minutes", "instance", "minutes", "item", "offset", "limit"}) {
    if (auto v = uint_param(p, key, 7)) {
      auto text = text_param(p, key);
      if (!text.empty() && std::to_string(*v) != text.substr(text.find_first_not_of('0') == std::string::npos ? text.size() - 1 : text.find_first_not_of('0')))
        std::abort();
      if (text.empty() && *v != 7)
        std::abort();
    } else if (v.why().find(key) == std::string::npos) {
      std::abort();
    }
    if (auto m = minutes_param(p, key, 60); m && (*m == 0 || *m > max_graph_minutes))
      std::abort();
    if (auto r = range_param(p, key, 500, 1, 500); r && (*r == 0 || *r > 500))
      std::abort();
  }
  return 0;
}

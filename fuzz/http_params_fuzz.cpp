// Fuzzes the web API's query parameters: cpp-httplib splits and URL-decodes the query string
// (as the server does for every request), then web/http_params.cpp reads the parameters the
// API uses. Invariants: no crash; an accepted number is what its digits say; minutes in range.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <httplib.h>

#include "web/http_params.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace clusterio::web;
  std::string query(reinterpret_cast<const char*>(data), size);
  params p;
  httplib::detail::parse_query_text(query, p);
  for (const char* key : {"rate_minutes", "instance", "minutes", "item"}) {
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
  }
  return 0;
}

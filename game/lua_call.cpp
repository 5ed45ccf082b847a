#include "game/lua_call.hpp"

#include <cstdio>

namespace clusterio {

std::string lua_string_literal(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '\'') {
      // Three digits always, so a following digit can't extend the escape.
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03u", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string clusterio_call(std::string_view function, std::string_view json) {
  return "/sc remote.call(\"clusterio\", " + lua_string_literal(function) + ", " + lua_string_literal(json) + ")";
}

} // namespace clusterio

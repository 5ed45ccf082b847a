#include "error.hpp"

#include <array>
#include <utility>

namespace clusterio::wire {

namespace {
constexpr std::array<std::pair<error_code, std::string_view>, 8> names{{
  {error_code::invalid, "invalid"},
  {error_code::unauthorized, "unauthorized"},
  {error_code::not_found, "not_found"},
  {error_code::overloaded, "overloaded"},
  {error_code::unavailable, "unavailable"},
  {error_code::unsupported, "unsupported"},
  {error_code::internal, "internal"},
  {error_code::conflict, "conflict"},
}};
} // namespace

std::string_view to_string(error_code code) {
  for (auto& [c, n] : names)
    if (c == code)
      return n;
  return "internal";
}

bool from_string(std::string_view text, error_code& out) {
  for (auto& [c, n] : names)
    if (n == text) {
      out = c;
      return true;
    }
  return false;
}

std::string error::to_string() const {
  std::string s(wire::to_string(code));
  if (!field.empty())
    s += " (" + field + ")";
  return s + ": " + message;
}

} // namespace clusterio::wire

#pragma once
// Reading one field of a JSON config strictly: the value must have the field's type, and a number
// must fit it (nlohmann's get<int>() of 5e23 or of -1 into an unsigned is undefined behaviour or
// a silent wrap, not an error). Shared by the master's and the slave's config files.

#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace clusterio {

/// If `j` has `key`, reads it into `field`; throws std::runtime_error naming the key when the
/// value has the wrong type or does not fit.
template <class T> void read_json_field(const nlohmann::json& j, const char* key, T& field) {
  if (!j.contains(key))
    return;
  const auto& v = j.at(key);
  auto wrong = [&](const std::string& why) { return std::runtime_error(std::string("'") + key + "' " + why); };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean())
      throw wrong("must be true or false, not " + std::string(v.type_name()));
    field = v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer())
      throw wrong("must be an integer, not " + std::string(v.type_name()));
    bool fits = v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())
                                       : v.get<std::int64_t>() >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                                           (std::is_unsigned_v<T> || v.get<std::int64_t>() <= static_cast<std::int64_t>(std::numeric_limits<T>::max()));
    if (!fits)
      throw wrong("is out of range");
    field = v.get<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number())
      throw wrong("must be a number, not " + std::string(v.type_name()));
    field = v.get<T>();
  } else {
    if (!v.is_string())
      throw wrong("must be a string, not " + std::string(v.type_name()));
    field = v.get<std::string>();
  }
}

} // namespace clusterio

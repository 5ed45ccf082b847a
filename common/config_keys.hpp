#pragma once
// A program's configuration keys, written once: each key's name, the field it fills and what it
// means. From that one list come reading a JSON config file strictly (an unknown key, a wrong
// type or a number that does not fit is refused, naming the key: a typo must not silently fall
// back to a default), writing the defaults, setting one key from text, the command-line flags
// (common/config_flags.hpp) and the documentation's table of keys.

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace clusterio {

template <class Config> class config_keys {
public:
  /// The field a key fills: one of the types a config holds.
  using field = std::variant<std::string Config::*, bool Config::*, int Config::*, std::uint32_t Config::*, std::uint64_t Config::*,
                             double Config::*>;

  struct key {
    const char* name;
    field member;
    const char* meaning;
    const char* default_text; ///< for the table when the default is not a constant (else null)
    const char* flag_alias = nullptr; ///< another name of the flag (kept for scripts), or null
    /// The command-line flag: "--" and the name with '-' for '_'.
    std::string flag() const {
      std::string f = std::string("--") + name;
      for (auto& c : f)
        c = c == '_' ? '-' : c;
      return f;
    }
  };

  /// Adds a key; the order of the calls is the order of the file and of the table.
  template <class T> config_keys& add(const char* name, T Config::*member, const char* meaning, const char* default_text = nullptr) {
    keys_.push_back({name, field(member), meaning, default_text});
    return *this;
  }

  /// Gives the key added last a second flag name, e.g. one scripts already use.
  config_keys& flag_alias(const char* alias) {
    keys_.back().flag_alias = alias;
    return *this;
  }

  const std::vector<key>& keys() const { return keys_; }

  /// The values of `c` as a JSON object, in the keys' order.
  nlohmann::ordered_json to_json(const Config& c) const {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (auto& k : keys_)
      std::visit([&](auto member) { j[k.name] = c.*member; }, k.member);
    return j;
  }

  /// Reads the keys `j` has into `c` (the others keep their values). `j` must be an object of
  /// known keys, each of its field's type.
  result<void> read(const nlohmann::json& j, Config& c) const {
    if (!j.is_object())
      return failure("the config must be a JSON object");
    for (auto& item : j.items()) {
      // Named, not bound: a structured binding cannot be captured by the lambda below in C++17.
      const std::string& name = item.key();
      const nlohmann::json& value = item.value();
      auto* k = find(name);
      if (!k)
        return failure("unknown key '" + name + "'");
      if (auto read = std::visit([&](auto member) { return read_value(value, c.*member); }, k->member); !read)
        return failure("'" + name + "' " + read.error().what());
    }
    return done();
  }

  /// Sets one key from text: a string key takes the text as it is, others parse it as JSON.
  result<void> set(Config& c, const std::string& name, const std::string& text) const {
    auto* k = find(name);
    if (!k)
      return failure("unknown key '" + name + "'");
    bool is_text = std::holds_alternative<std::string Config::*>(k->member);
    auto value = is_text ? nlohmann::json(text) : nlohmann::json::parse(text, nullptr, false);
    if (value.is_discarded())
      return failure("bad value for " + name + ": not a number, true or false: '" + text + "'");
    if (auto read = std::visit([&](auto member) { return read_value(value, c.*member); }, k->member); !read)
      return read.error().in("bad value for " + name);
    return done();
  }

  /// The table of keys in Markdown (key, flag, default, meaning), for the documentation.
  std::string markdown(const Config& defaults, bool with_flags) const {
    std::string out = with_flags ? "| key | flag | default | meaning |\n|---|---|---|---|\n" : "| key | default | meaning |\n|---|---|---|\n";
    auto json = to_json(defaults);
    for (auto& k : keys_) {
      auto& v = json[k.name];
      std::string shown = k.default_text ? k.default_text : "`" + (v.is_string() && !v.template get<std::string>().empty() ? v.template get<std::string>() : v.dump()) + "`";
      std::string flags = "`" + k.flag() + "`" + (k.flag_alias ? std::string(" or `") + k.flag_alias + "`" : "");
      out += "| `" + std::string(k.name) + "` | " + (with_flags ? flags + " | " : "") + shown + " | " + k.meaning + " |\n";
    }
    return out;
  }

  const key* find(const std::string& name) const {
    for (auto& k : keys_)
      if (name == k.name)
        return &k;
    return nullptr;
  }

private:
  /// Reads `v` into `out`: the value must have the field's type, and a number must fit it
  /// (nlohmann's get<int>() of 5e23, or of -1 into an unsigned, is undefined or a silent wrap).
  template <class T> static result<void> read_value(const nlohmann::json& v, T& out) {
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean())
        return failure("must be true or false, not " + std::string(v.type_name()));
      out = v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer())
        return failure("must be an integer, not " + std::string(v.type_name()));
      bool fits = v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())
                                         : v.get<std::int64_t>() >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                                             (std::is_unsigned_v<T> || v.get<std::int64_t>() <= static_cast<std::int64_t>(std::numeric_limits<T>::max()));
      if (!fits)
        return failure("is out of range");
      out = v.get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number())
        return failure("must be a number, not " + std::string(v.type_name()));
      out = v.get<T>();
    } else {
      if (!v.is_string())
        return failure("must be a string, not " + std::string(v.type_name()));
      out = v.get<std::string>();
    }
    return done();
  }

  std::vector<key> keys_;
};

} // namespace clusterio

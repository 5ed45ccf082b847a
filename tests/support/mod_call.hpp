#pragma once
// Reads back an RCON command that game/lua_call.hpp's clusterio_call made: the function called
// and its JSON argument, for tests that stand in for the mod. Header-only.

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace clusterio::test {

struct mod_call {
  std::string function;
  nlohmann::json argument;
};

/// The Lua string literal starting at command[at] (a '"'), decoded; `at` moves past it.
/// clusterio_call escapes with three decimal digits only.
inline std::string read_lua_literal(const std::string& command, std::size_t& at) {
  if (at >= command.size() || command[at] != '"')
    throw std::invalid_argument("no Lua string literal at " + std::to_string(at) + " of " + command);
  std::string out;
  for (++at; at < command.size() && command[at] != '"'; ++at) {
    if (command[at] == '\\') {
      out += static_cast<char>(std::stoi(command.substr(at + 1, 3)));
      at += 3;
    } else {
      out += command[at];
    }
  }
  ++at;
  return out;
}

/// REQUIRES: `command` is `/sc remote.call("clusterio", <function>, <json>)` as clusterio_call makes it.
inline mod_call read_mod_call(const std::string& command) {
  const std::string head = "/sc remote.call(\"clusterio\", ";
  if (command.compare(0, head.size(), head) != 0)
    throw std::invalid_argument("not a call of the clusterio interface: " + command);
  std::size_t at = head.size();
  mod_call call;
  call.function = read_lua_literal(command, at);
  at += 2; // ", "
  call.argument = nlohmann::json::parse(read_lua_literal(command, at));
  return call;
}

} // namespace clusterio::test

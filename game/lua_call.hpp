#pragma once
// Slave -> game: an RCON command calling the mod's remote interface with one JSON argument.
// The JSON travels inside a double-quoted Lua string literal in which every byte that could end
// or bend the literal is escaped, so data (an item name like `"]]); os.exit() --`) can never
// become code.

#include <string>
#include <string_view>

namespace clusterio {

/// `s` as a Lua double-quoted string literal: backslash, quotes, and every control byte and DEL
/// are escaped as \ddd; other bytes (UTF-8 included) pass through.
std::string lua_string_literal(std::string_view s);

/// "/sc remote.call("clusterio", "<function>", <literal of json>)"
std::string clusterio_call(std::string_view function, std::string_view json);

} // namespace clusterio

#include "sim/lua_host.hpp"

#include "common/result.hpp"
#include "sim/log.hpp"

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

namespace clusterio::sim {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// Nesting limit for JSON conversion, in tables (arrays and objects) inside one another. Deeper
/// than this a table is almost certainly a cycle, and JSON text a hostile one; within it the
/// conversions' recursion and the Lua stack stay small.
constexpr int max_json_depth = 512;
/// Lua stack slots one level of each conversion uses: to_json's key, value and key copy;
/// push_json's table and value.
constexpr int json_slots_per_level = 3;

std::string write_data_dir; // the only process-wide state: set once by init()

/// The JSON form of the value at `idx`, inside `depth` tables. It raises no Lua error: that would
/// jump over the destructors of the partly built JSON.
result<json> to_json(lua_State* L, int idx, int depth) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      return json(nullptr);
    case LUA_TBOOLEAN:
      return json(static_cast<bool>(lua_toboolean(L, idx)));
    case LUA_TNUMBER: {
      double d = lua_tonumber(L, idx);
      if (!std::isfinite(d))
        return json(nullptr);
      if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0)
        return json(static_cast<int64_t>(d));
      return json(d);
    }
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, idx, &len);
      return json(std::string(s, len));
    }
    case LUA_TTABLE: {
      if (depth >= max_json_depth)
        return failure("nesting deeper than " + std::to_string(max_json_depth) + " tables (a table that contains itself?)");
      // A table whose keys are exactly 1..n is an array; an empty table is an empty array.
      size_t n = lua_rawlen(L, idx);
      size_t count = 0;
      bool only_ints = true;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        ++count;
        if (lua_type(L, -2) != LUA_TNUMBER)
          only_ints = false;
        lua_pop(L, 1);
      }
      if (only_ints && count == n) {
        json arr = json::array();
        for (size_t i = 1; i <= n; ++i) {
          lua_rawgeti(L, idx, static_cast<int>(i));
          auto v = to_json(L, -1, depth + 1);
          lua_pop(L, 1);
          if (!v)
            return v;
          arr.push_back(std::move(*v));
        }
        return arr;
      }
      json obj = json::object();
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        std::string key;
        if (lua_type(L, -2) == LUA_TSTRING) {
          key = lua_tostring(L, -2);
        } else if (lua_type(L, -2) == LUA_TNUMBER) {
          lua_pushvalue(L, -2);
          key = lua_tostring(L, -1);
          lua_pop(L, 1);
        } else {
          lua_pop(L, 1);
          continue;
        }
        auto v = to_json(L, -1, depth + 1);
        if (!v) {
          lua_pop(L, 2);
          return v;
        }
        obj[key] = std::move(*v);
        lua_pop(L, 1);
      }
      return obj;
    }
    default:
      return json(nullptr); // functions and userdata have no JSON form
  }
}

/// Pushes `j` as Lua values; the caller has made room on the stack for its depth.
void push_json(lua_State* L, const json& j) {
  switch (j.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      lua_pushnil(L);
      break;
    case json::value_t::boolean:
      lua_pushboolean(L, j.get<bool>());
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      lua_pushnumber(L, j.get<double>());
      break;
    case json::value_t::string: {
      auto& s = j.get_ref<const std::string&>();
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case json::value_t::array: {
      lua_createtable(L, static_cast<int>(j.size()), 0);
      int i = 1;
      for (auto& v : j) {
        push_json(L, v);
        lua_rawseti(L, -2, i++);
      }
      break;
    }
    case json::value_t::object: {
      lua_createtable(L, 0, static_cast<int>(j.size()));
      for (auto& [k, v] : j.items()) {
        lua_pushlstring(L, k.data(), k.size());
        push_json(L, v);
        lua_rawset(L, -3);
      }
      break;
    }
    case json::value_t::binary:
      lua_pushnil(L);
      break;
  }
}

/// Room on the Lua stack for a conversion `max_json_depth` deep (the stack does not grow by
/// itself for C functions).
bool room_for_json(lua_State* L) { return lua_checkstack(L, max_json_depth * json_slots_per_level + 2) != 0; }

/// A table nested too deep, or containing itself, is a Lua error (pcall catches it): a bug in
/// the script, like any other misuse of an API.
int l_table_to_json(lua_State* L) {
  {
    auto j = room_for_json(L) ? to_json(L, 1, 0) : result<json>(failure("out of Lua stack"));
    if (j) {
      auto s = j->dump(-1, ' ', false, json::error_handler_t::replace);
      lua_pushlstring(L, s.data(), s.size());
      return 1;
    }
    lua_pushstring(L, ("table_to_json: " + j.why()).c_str());
  } // the C++ objects are gone before lua_error jumps
  return lua_error(L);
}

/// JSON nested too deep gives nil, as Factorio gives for text that is not JSON: to a script it
/// is input it cannot read, and scripts that read input already check for nil.
int l_json_to_table(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  if (!room_for_json(L))
    return 0;
  bool too_deep = false;
  auto within_limit = [&too_deep](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) && depth >= max_json_depth)
      too_deep = true;
    return !too_deep;
  };
  json j = json::parse(s, s + len, within_limit, false);
  if (j.is_discarded() || too_deep)
    return 0; // Factorio returns nil for invalid JSON
  push_json(L, j);
  return 1;
}

int l_print(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  print_raw(std::string(s, len));
  return 0;
}

int l_log_line(lua_State* L) {
  log_line(luaL_checkstring(L, 1));
  return 0;
}

/// Seconds of CPU time used by this thread: mod time is measured as work done, so that other
/// processes on a busy machine preempting the sim do not count as the mod's cost.
int l_cpu_clock(lua_State* L) {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  lua_pushnumber(L, static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9);
  return 1;
}

/// write_file(name, data, append): relative to <write-data>/script-output, no escaping it.
int l_write_file(lua_State* L) {
  std::string name = luaL_checkstring(L, 1);
  size_t len;
  const char* data = luaL_checklstring(L, 2, &len);
  bool append = lua_toboolean(L, 3);
  fs::path rel(name);
  if (name.empty() || rel.is_absolute())
    return luaL_error(L, "write_file: invalid file name");
  for (auto& part : rel)
    if (part == "..")
      return luaL_error(L, "write_file: file name must not contain '..'");
  fs::path full = fs::path(write_data_dir) / "script-output" / rel;
  std::error_code ec;
  fs::create_directories(full.parent_path(), ec);
  std::ofstream f(full, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  if (!f)
    return luaL_error(L, "write_file: cannot open %s", full.c_str());
  f.write(data, static_cast<std::streamsize>(len));
  return 0;
}

void push_files(lua_State* L, const zip_entries& files) {
  lua_createtable(L, 0, static_cast<int>(files.size()));
  for (auto& [k, v] : files) {
    lua_pushlstring(L, k.data(), k.size());
    lua_pushlstring(L, v.data(), v.size());
    lua_rawset(L, -3);
  }
}

int traceback(lua_State* L) {
  const char* msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(non-string error)", 1);
  return 1;
}

} // namespace

lua_host::~lua_host() {
  if (L_)
    lua_close(L_);
}

std::optional<std::string> lua_host::init(const std::string& runtime_path,
                                          const std::string& write_data,
                                          const std::string& version) {
  write_data_dir = write_data;
  L_ = luaL_newstate();
  luaL_openlibs(L_);
  static const luaL_Reg natives[] = {
      {"print", l_print},           {"log_line", l_log_line},
      {"cpu_clock", l_cpu_clock},           {"write_file", l_write_file},
      {"table_to_json", l_table_to_json}, {"json_to_table", l_json_to_table},
      {nullptr, nullptr}};
  if (luaL_loadfile(L_, runtime_path.c_str()) != LUA_OK)
    return std::string("cannot load runtime: ") + lua_tostring(L_, -1);
  luaL_newlib(L_, natives);
  lua_pushstring(L_, version.c_str());
  lua_setfield(L_, -2, "version");
  std::string dir = fs::path(runtime_path).parent_path().string();
  lua_pushlstring(L_, dir.data(), dir.size());
  if (lua_pcall(L_, 2, 1, 0) != LUA_OK)
    return std::string("runtime failed: ") + lua_tostring(L_, -1);
  lua_setfield(L_, LUA_REGISTRYINDEX, "SIM");
  return std::nullopt;
}

std::optional<std::string> lua_host::call(const char* fn, int nargs, int nres) {
  int base = lua_gettop(L_) - nargs + 1; // first argument
  lua_pushcfunction(L_, traceback);
  lua_insert(L_, base);
  lua_getfield(L_, LUA_REGISTRYINDEX, "SIM");
  lua_getfield(L_, -1, fn);
  lua_remove(L_, -2);
  lua_insert(L_, base + 1);
  if (lua_pcall(L_, nargs, nres, base) != LUA_OK) {
    std::string err = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "(non-string error)";
    lua_settop(L_, base - 1);
    return err;
  }
  lua_remove(L_, base);
  return std::nullopt;
}

std::optional<std::string> lua_host::load_mods(const std::vector<mod_source>& mods) {
  lua_createtable(L_, static_cast<int>(mods.size()), 0);
  int i = 1;
  for (auto& m : mods) {
    lua_createtable(L_, 0, 3);
    lua_pushstring(L_, m.name.c_str());
    lua_setfield(L_, -2, "name");
    lua_pushstring(L_, m.version.c_str());
    lua_setfield(L_, -2, "version");
    push_files(L_, m.files);
    lua_setfield(L_, -2, "files");
    lua_rawseti(L_, -2, i++);
  }
  return call("load_mods", 1, 0);
}

std::optional<std::string> lua_host::new_game(const std::string& scenario_name,
                                              const std::string& scenario_source,
                                              const std::string& map_gen_settings) {
  lua_pushstring(L_, scenario_name.c_str());
  lua_pushlstring(L_, scenario_source.data(), scenario_source.size());
  lua_pushlstring(L_, map_gen_settings.data(), map_gen_settings.size());
  return call("new_game", 3, 0);
}

std::optional<std::string> lua_host::load_game(const zip_entries& save) {
  push_files(L_, save);
  return call("load_game", 1, 0);
}

std::optional<std::string> lua_host::save_game(zip_entries& save) {
  if (auto err = call("save_game", 0, 1))
    return err;
  lua_pushnil(L_);
  while (lua_next(L_, -2)) {
    size_t kl, vl;
    const char* k = lua_tolstring(L_, -2, &kl);
    const char* v = lua_tolstring(L_, -1, &vl);
    if (k && v)
      save[std::string(k, kl)] = std::string(v, vl);
    lua_pop(L_, 1);
  }
  lua_pop(L_, 1);
  return std::nullopt;
}

std::optional<std::string> lua_host::tick(double& mod_ms) {
  if (auto err = call("tick", 0, 1))
    return err;
  mod_ms = lua_tonumber(L_, -1);
  lua_pop(L_, 1);
  return std::nullopt;
}

std::string lua_host::run_lua(const std::string& body) {
  lua_pushlstring(L_, body.data(), body.size());
  if (auto err = call("run_command", 1, 1))
    return "Cannot execute command. Error: " + *err;
  size_t len;
  const char* s = lua_tolstring(L_, -1, &len);
  std::string out = s ? std::string(s, len) : std::string();
  lua_pop(L_, 1);
  return out;
}

std::optional<std::string> lua_host::dump_api(std::string& json) {
  if (auto err = call("dump_api", 0, 1))
    return err;
  size_t len;
  const char* s = lua_tolstring(L_, -1, &len);
  json.assign(s ? s : "", s ? len : 0);
  lua_pop(L_, 1);
  return std::nullopt;
}

int lua_host::players() {
  if (call("player_count", 0, 1))
    return 0;
  int n = static_cast<int>(lua_tointeger(L_, -1));
  lua_pop(L_, 1);
  return n;
}

uint64_t lua_host::game_tick() {
  if (call("game_tick", 0, 1))
    return 0;
  auto t = static_cast<uint64_t>(lua_tonumber(L_, -1));
  lua_pop(L_, 1);
  return t;
}

bool lua_host::achievements_enabled() {
  if (call("achievements_enabled", 0, 1))
    return false;
  bool b = lua_toboolean(L_, -1);
  lua_pop(L_, 1);
  return b;
}

void lua_host::disable_achievements() { call("disable_achievements", 0, 0); }

} // namespace clusterio::sim

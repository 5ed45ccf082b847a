// Issue 21: factorio-sim loads mods as the game does and refuses what it refuses: info.json's
// factorio_version and dependencies (an unmet one stops the start with a clear message),
// dependencies load first, the data stage's checks, and the control stage's life cycle (no
// `game` in control.lua's main chunk or on_load, no writing `storage` in on_load,
// on_configuration_changed in every mod whenever a mod is added, removed or changes version).

#include "tests/sim/sim_process.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

using nlohmann::json;
using clusterio::test::sim_process;

namespace {

bool has(const std::string& l, const std::string& s) { return l.find(s) != std::string::npos; }

/// Starts the sim with `mod` installed and expects the start to be refused with `why`.
void refused_with(const std::string& why, const std::string& name, const json& info,
                  const std::vector<std::pair<std::string, std::string>>& files) {
  sim_process sim("producer");
  sim.write_mod(name, info, files);
  CHECK_THROWS(sim.start());
  INFO("expected a line with: " << why);
  CHECK(!sim.wait_line([&](const std::string& l) { return has(l, why); }, std::chrono::seconds(5)).empty());
}

/// The start of a PNG of size x size: all the sim reads of an image is its size.
std::string png_header(unsigned size) {
  std::string p("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  for (unsigned v : {size, size})
    for (int shift = 24; shift >= 0; shift -= 8)
      p += static_cast<char>((v >> shift) & 0xff);
  return p + std::string("\x08\x06\0\0\0", 5);
}

std::string item(const std::string& extra) {
  return "{type = 'item', name = 'thing', stack_size = 10, icon = '__thing__/icon.png'" + extra + "}";
}

} // namespace

TEST_CASE("info.json's factorio_version and dependencies are checked as the game checks them") {
  refused_with("Dependency base >= 2.1.0 is not satisfied (active: base", "needs_new",
               {{"dependencies", {"base >= 2.1.0"}}}, {});
  refused_with("Dependency flib >= 0.12 is not satisfied (flib is not active)", "needs_flib",
               {{"dependencies", {"base", "flib >= 0.12"}}}, {});
  refused_with("Incompatible with clusterio", "hates_clusterio", {{"dependencies", {"! clusterio"}}}, {});
  refused_with("Mod is for Factorio 1.1", "old_mod", {{"factorio_version", "1.1"}}, {});

  // Optional dependencies that are missing are fine; present ones load first.
  sim_process sim("producer");
  sim.write_mod("aaa", {{"dependencies", {"base", "zzz >= 1.0", "? not-installed"}}},
                {{"data.lua", "assert(data.raw['virtual-signal']['zzz-signal'], 'zzz loads first')"}});
  sim.write_mod("zzz", json::object(), {{"data.lua", "data:extend({{type = 'virtual-signal', name = 'zzz-signal', "
                                                     "icon = '__zzz__/icon.png'}})"},
                                        {"icon.png", png_header(64)}});
  sim.start();
  // The game version the sim reports is the one its base and its changelog state.
  auto version = sim.command("/version");
  CHECK(sim.command("/sc rcon.print(script.active_mods.base)") == version);
  CHECK(sim.command("/sc rcon.print(helpers.game_version)") == version);
  CHECK(version != "2.0.0\n");
  CHECK(!sim.wait_line([&](const std::string& l) { return has(l, "Factorio " + version.substr(0, version.size() - 1) + " ("); }).empty());
}

TEST_CASE("the data stage refuses what the game refuses") {
  refused_with("Expected array of prototypes, but got a single prototype", "thing", json::object(),
               {{"data.lua", "data:extend(" + item("") + ")"}, {"icon.png", png_header(64)}});
  refused_with("Key \"stack_size\" not found", "thing", json::object(),
               {{"data.lua", "data:extend({{type = 'item', name = 'thing', icon = '__thing__/icon.png'}})"},
                {"icon.png", png_header(64)}});
  refused_with("File not found: __thing__/icon.png", "thing", json::object(), {{"data.lua", "data:extend({" + item("") + "})"}});
  refused_with("smaller than its stated size 64", "thing", json::object(),
               {{"data.lua", "data:extend({" + item("") + "})"}, {"icon.png", png_header(32)}});
  refused_with("item-subgroup with name 'nope' does not exist", "thing", json::object(),
               {{"data.lua", "data:extend({" + item(", subgroup = 'nope'") + "})"}, {"icon.png", png_header(64)}});
  refused_with("item with name 'nope' does not exist", "thing", json::object(),
               {{"data.lua", "data:extend({{type = 'recipe', name = 'thing', ingredients = {{type = 'item', "
                             "name = 'nope', amount = 1}}, results = {{type = 'item', name = 'iron-plate', amount = 1}}}})"}});
}

/// A mod added to a save runs on_init; on_load runs when the save is loaded again: the first
/// start goes well, the second is refused with `why`.
void refused_on_load(const std::string& why, const std::string& control) {
  sim_process sim("producer");
  sim.write_mod("loader", json::object(), {{"control.lua", control}});
  sim.start();
  CHECK(sim.stop() == 0);
  size_t from = sim.lines().size();
  CHECK_THROWS(sim.start());
  INFO("expected a line with: " << why);
  CHECK(!sim.wait_line([&](const std::string& l) { return has(l, why); }, std::chrono::seconds(5), from).empty());
}

TEST_CASE("control.lua's main chunk and on_load have no game, and on_load may not write storage") {
  refused_with("attempt to index global 'game'", "early", json::object(), {{"control.lua", "local t = game.tick"}});
  refused_on_load("attempt to index global 'game'", "script.on_load(function() local t = game.tick end)");
  refused_on_load("Detected modifications to the 'storage' table",
                  "script.on_init(function() storage.n = 1 end) script.on_load(function() storage.n = storage.n + 1 end)");
}

TEST_CASE("on_configuration_changed runs in every mod when any mod changes") {
  sim_process sim("producer");
  const std::string watcher = R"(
    script.on_init(function() storage.seen = {} end)
    script.on_load(function() assert(storage.seen, "storage is readable in on_load") end)
    script.on_configuration_changed(function(data)
      local other = data.mod_changes.other
      storage.seen[#storage.seen + 1] = other and ((other.old_version or "none") .. "->" .. (other.new_version or "none")) or "-"
    end)
    remote.add_interface("watcher", {seen = function() return table.concat(storage.seen, " ") end}))";
  sim.write_mod("watcher", json::object(), {{"control.lua", watcher}});
  sim.write_mod("other", {{"version", "1.0.0"}}, {});
  auto seen = [&] { return sim.command("/sc rcon.print(remote.call('watcher', 'seen'))"); };
  sim.start();
  CHECK(seen() == "none->1.0.0\n"); // both added to the save
  CHECK(sim.stop() == 0);
  sim.start();
  CHECK(seen() == "none->1.0.0\n"); // nothing changed
  CHECK(sim.stop() == 0);
  sim.write_mod("other", {{"version", "1.1.0"}}, {});
  sim.start();
  CHECK(seen() == "none->1.0.0 1.0.0->1.1.0\n");
  CHECK(sim.stop() == 0);
  std::filesystem::remove_all(sim.dir() + "/mods/other");
  sim.start();
  CHECK(seen() == "none->1.0.0 1.0.0->1.1.0 1.1.0->none\n");
}

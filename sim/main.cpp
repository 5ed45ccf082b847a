// factorio-sim: an executable laid out and started like Factorio's headless server, for tests and
// demos without the proprietary game. See docs/factorio-sim.md.

#include "sim/game.hpp"
#include "sim/log.hpp"
#include "sim/options.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <malloc.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace clusterio::sim;

namespace {

/// Expands Factorio's __PATH__executable__ placeholder.
std::string expand(std::string v, const fs::path& exe_dir) {
  const std::string key = "__PATH__executable__";
  for (auto p = v.find(key); p != std::string::npos; p = v.find(key))
    v.replace(p, key.size(), exe_dir.string());
  return v;
}

/// Reads read-data and write-data from config.ini's [path] section.
void read_config(const std::string& file, const fs::path& exe_dir, paths& out) {
  std::ifstream f(file);
  std::string line, section;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || line[0] == ';' || line[0] == '#')
      continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    auto eq = line.find('=');
    if (section != "path" || eq == std::string::npos)
      continue;
    auto key = line.substr(0, eq), value = expand(line.substr(eq + 1), exe_dir);
    if (key == "read-data")
      out.read_data = value;
    else if (key == "write-data")
      out.write_data = value;
  }
}

} // namespace

int main(int argc, char** argv) {
  // No glibc fastbins: a Lua GC sweep frees tens of thousands of small blocks into them, and the
  // next large allocation consolidates them all at once: an 80 ms stall in one tick at 10,000
  // chests, charged to whichever mod handler happened to allocate.
  mallopt(M_MXFAST, 0);
  options opts;
  if (auto err = parse_options(argc, argv, opts)) {
    log_at("Error", "CommandLine.cpp:0", *err);
    return 1;
  }
  std::error_code ec;
  fs::path exe = fs::canonical("/proc/self/exe", ec);
  fs::path exe_dir = exe.parent_path();
  fs::path root = exe_dir.parent_path().parent_path();
  paths p;
  p.read_data = (root / "data").string();
  p.write_data = root.string();
  p.config = opts.config.empty() ? (root / "config" / "config.ini").string() : opts.config;
  read_config(p.config, exe_dir, p);
  p.mods = opts.mod_directory.empty() ? (fs::path(p.write_data) / "mods").string()
                                      : opts.mod_directory;
  for (auto* d : {"saves", "mods", "script-output"})
    fs::create_directories(fs::path(p.write_data) / d, ec);

  log_line(std::string("Factorio ") + factorio_version
           + " (build 1, linux64, headless, factorio-sim)");
  log_line("Operating system: Linux");
  std::string args;
  for (auto& a : opts.args)
    args += " " + a;
  log_line("Program arguments: \"" + exe.string() + "\"" + args);
  log_line("Config path: " + p.config);
  log_line("Read data path: " + p.read_data);
  log_line("Write data path: " + p.write_data + " [0/0MB]");
  log_line("Binaries path: " + exe_dir.parent_path().string());
  log_line("Running in headless mode");
  game g(opts, p);
  return g.run();
}

#pragma once
// A real headless Chromium (Debian's) for the web interface's tests: the DOM after the page's
// scripts ran, screenshots, and reading the storage table out of the DOM.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>

#include "tests/support/process.hpp"

namespace clusterio::test {

/// Runs a shell command with a time limit; returns its exit status and output.
inline std::pair<int, std::string> run(const std::string& cmd, const std::string& out_path, int timeout_s = 90) {
  auto full = "timeout " + std::to_string(timeout_s) + " " + cmd + " >" + out_path + " 2>" + out_path + ".err";
  int rc = std::system(full.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out_path)};
}

inline std::string chromium() {
  for (auto* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::ifstream(p).good())
      return p;
  FAIL("chromium is not installed (scripts/setup installs Debian's chromium)");
  return {};
}

/// Loads the page in a fresh headless Chromium and returns the DOM after `budget_ms` of
/// virtual time (the page's polling and fetches run in it).
inline std::string dump_dom(const std::string& url, int budget_ms = 6000) {
  auto profile = temp_dir("clusterio-chromium");
  auto [rc, dom] = run(chromium() +
                         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
                         " --disable-component-update --disable-sync --window-size=1280,1600 --user-data-dir=" +
                         profile + " --virtual-time-budget=" + std::to_string(budget_ms) + " --dump-dom " + url,
                       profile + "/dom.html"); // not in `work`: tests running at once share that
  INFO("chromium stderr: " << slurp(profile + "/dom.html.err"));
  REQUIRE(rc == 0);
  return dom;
}

inline void screenshot(const std::string& url, const std::string& file, const std::string& size) {
  auto profile = temp_dir("clusterio-chromium");
  auto [rc, out] = run(chromium() +
                         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
                         " --disable-component-update --disable-sync --hide-scrollbars --window-size=" +
                         size + " --user-data-dir=" + profile + " --virtual-time-budget=6000 --screenshot=" + file + " " + url,
                       file + ".log");
  INFO("chromium: " << out << slurp(file + ".log.err"));
  REQUIRE(rc == 0);
  REQUIRE(std::ifstream(file).good());
}

/// The text of the count cell of the storage row whose name cell holds `escaped_name`.
inline std::string row_count(const std::string& dom, const std::string& escaped_name) {
  auto at = dom.find("<td class=\"name\">" + escaped_name + "</td>");
  if (at == std::string::npos)
    return {};
  std::smatch m;
  std::string rest = dom.substr(at, 400);
  if (std::regex_search(rest, m, std::regex("<td class=\"num count[^\"]*\">([^<]*)</td>")))
    return m[1];
  return {};
}

} // namespace clusterio::test

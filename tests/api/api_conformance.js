// The Factorio API, machine-checked: factorio-sim's emulated API and the clusterio mod's use of
// the API against the real 2.0 API as the npm package typed-factorio describes it (pinned in
// tests/node/package.json). Fails when the sim emulates a member the game lacks, with another
// kind, access or parameters; when the sim reports another game version; when the mod uses a
// member that exists nowhere; or when the mod's info.json does not state the lowest base
// version whose API has everything the mod uses.
// Usage: node api_conformance.js <build dir> <source dir>
"use strict";
const assert = require("assert");
const { execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { derive } = require("./typed_factorio.js");
const { compareSim } = require("./sim_surface.js");
const { scan, unknownMembers, versionFloor } = require("./mod_usage.js");

const [build, source] = process.argv.slice(2);
const api = derive(path.join(source, "tests/node/node_modules"));
let failures = 0;

function check(title, problems) {
  if (problems.length === 0) return console.log(`ok: ${title}`);
  failures += 1;
  console.log(`FAIL: ${title}\n  ${problems.join("\n  ")}`);
}

function simDump() {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "clusterio-api-")), "api.json");
  execFileSync(path.join(build, "factorio-sim/bin/x64/factorio"), ["--dump-api", file], { stdio: "pipe" });
  const dump = JSON.parse(fs.readFileSync(file, "utf8"));
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return dump;
}

/// The comparison must see each kind of difference: a changed copy of a conforming dump has
/// to fail for the reason changed, or the check above proves nothing.
function comparisonSeesDifferences(dump) {
  const copy = () => JSON.parse(JSON.stringify(dump));
  const cases = [
    ["an invented member", (d) => { d.classes.LuaEntity.members.no_such_member = { kind: "method", params: [] }; }],
    ["another kind", (d) => { d.classes.LuaEntity.members.name = { kind: "method", params: [] }; }],
    ["writing a read-only attribute", (d) => { d.classes.LuaEntity.members.name.write = true; }],
    ["other parameters", (d) => { d.classes.LuaEntity.members.get_signals.params = []; }],
    ["an invented class", (d) => { d.classes.LuaNoSuchClass = { members: {} }; }],
    ["an invented define", (d) => { d.defines.push("defines.inventory.main"); }],
    ["another version", (d) => { d.version = "2.0.0"; }],
    ["other required fields", (d) => { d.required.item = []; }],
  ];
  const missed = [];
  for (const [what, change] of cases) {
    const d = copy();
    change(d);
    if (compareSim(d, api).length === 0) missed.push(`a dump with ${what} passed`);
  }
  return missed;
}

const dump = simDump();
check(`factorio-sim emulates the API of Factorio ${api.factorioVersion} (typed-factorio ${api.packageVersion})`,
  compareSim(dump, api));
check("the comparison notices each kind of difference", comparisonSeesDifferences(dump));

const modDir = path.join(source, "mod");
const usage = scan(modDir, path.join(source, "docs/mod-interface.md"));
assert(usage.used.size > 50, "the mod scan found too few member uses to be reading the mod");
check("every member the mod uses exists in the API",
  unknownMembers(usage, api).map((u) => `${u.name} (${u.where.slice(0, 3).join(", ")})`));
// A misspelt member (the singular of get_logistic_sections) must be noticed.
const misspelt = { used: new Map([...usage.used, ["get_logistic_section", ["(test)"]]]), defined: usage.defined };
check("the scan notices a member that does not exist",
  unknownMembers(misspelt, api).some((u) => u.name === "get_logistic_section") ? [] : ["it passed"]);

const { floor, because } = versionFloor(usage, api);
const info = JSON.parse(fs.readFileSync(path.join(modDir, "info.json"), "utf8"));
const base = (info.dependencies || []).find((d) => /^base\b/.test(d));
check(`info.json states the lowest base the mod runs on: base >= ${floor} (for ${because})`,
  base === `base >= ${floor}` ? [] : [`info.json has "${base}"`]);

if (failures) process.exit(1);

// Holds factorio-sim's emulated API (written by `factorio --dump-api`) against the real one
// derived from typed-factorio: every class, member, kind, access and parameter list the sim
// emulates must exist as such; its globals, defines and the prototype fields it requires must
// be the game's. Returns a list of differences (empty when the sim conforms).
"use strict";

/// A leading underscore marks a Lua name that is a keyword in one language or the other.
const plain = (names) => names.map((n) => n.replace(/^_/, ""));

function compareMember(where, sim, real, out) {
  if (!real) return out.push(`${where}: the sim emulates it; the API has no such member`);
  if (sim.kind !== real.kind) return out.push(`${where}: the sim has a ${sim.kind}, the API a ${real.kind}`);
  if (sim.kind === "attribute") {
    if (sim.read && !real.read) out.push(`${where}: the sim reads it; the API's is write-only`);
    if (sim.write && !real.write) out.push(`${where}: the sim writes it; the API's is read-only`);
    return;
  }
  const mine = plain(sim.params).join(",");
  const theirs = real.overloads.map((o) => plain(o).join(","));
  if (!theirs.includes(mine)) {
    out.push(`${where}(${mine}): the API's parameters are (${theirs.join(") or (")})`);
  }
}

function compareClasses(sim, api, out) {
  for (const [name, cls] of Object.entries(sim.classes)) {
    const real = api.classes[name];
    if (!real) {
      out.push(`${name}: the sim emulates a class the API does not have`);
      continue;
    }
    for (const [m, e] of Object.entries(cls.members)) compareMember(`${name}.${m}`, e, real.members[m], out);
    if (cls.index && !real.index) out.push(`${name}[i]: the API's class cannot be indexed`);
    if (cls.length && !real.length) out.push(`#${name}: the API's class has no length operator`);
  }
}

function compareGlobals(sim, api, out) {
  for (const [name, cls] of Object.entries(sim.globals)) {
    if (api.globals[name] !== cls) out.push(`global ${name}: the sim's is a ${cls}, the API's a ${api.globals[name]}`);
  }
  for (const path of sim.defines) {
    if (!api.defines.has(path)) out.push(`${path}: not in the API's defines`);
  }
}

/// The sim's required-field table against the API's prototype definitions (type and name,
/// required everywhere, are left out of both).
function compareRequired(sim, api, out) {
  const strip = (list) => list.filter((f) => f !== "type" && f !== "name").sort().join(",");
  for (const [type, fields] of Object.entries(sim.required)) {
    const real = api.prototypes[type];
    if (!real) {
      out.push(`prototype type ${type}: not in the API`);
      continue;
    }
    if (strip(fields) !== strip(real.required)) {
      out.push(`prototype ${type}: the sim requires (${strip(fields)}), the API (${strip(real.required)})`);
    }
  }
}

function compareSim(sim, api) {
  const out = [];
  if (sim.version !== api.factorioVersion) {
    out.push(`the sim reports Factorio ${sim.version}; typed-factorio ${api.packageVersion} describes ${api.factorioVersion}`);
  }
  compareClasses(sim, api, out);
  compareGlobals(sim, api, out);
  compareRequired(sim, api, out);
  return out;
}

module.exports = { compareSim };

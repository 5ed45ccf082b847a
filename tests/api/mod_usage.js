// What the clusterio mod uses of the Factorio API, read from its Lua source (parsed with
// luaparse): every `x.name`, `x:name()` and `x["name"]`. A name the mod does not make itself (a
// table key it writes, a string it holds, a JSON field of its documented contract with the
// slave) and that is nowhere in the API (a class member, a concept, event or prototype field, a
// define) nor in Lua's libraries is a member that does not exist. The lowest game release whose
// API has every member used is the version floor info.json must state.
"use strict";
const fs = require("fs");
const path = require("path");

/// Members added after 2.0.7, the first 2.0 release, with the release that added them (dates
/// from Factorio's own changelog), for the classes a mod like this one touches. `Class.*` is a
/// class added whole. LuaItemCommon's members are LuaItemStack's too.
const SINCE = [
  ["2.0.16", ["LuaEntity.get_logistic_sections", "LuaLogisticSections.*"]],
  ["2.0.26", ["LuaEntity.minable_flag", "LuaEntity.disabled_by_script", "LuaEntity.is_updatable",
              "LuaEntity.frozen", "LuaEntity.is_freezable"]],
  ["2.0.29", ["LuaRecord.get_active_index"]],
  ["2.0.34", ["LuaRecord.preview_icons"]],
  ["2.0.35", ["LuaRecord.contents_size"]],
  ["2.0.38", ["LuaEntity.proxy_target_entity", "LuaEntity.proxy_target_inventory"]],
  ["2.0.46", ["LuaEntity.item_request_proxy"]],
  ["2.0.48", ["LuaInventory.name", "LuaGuiElement.quality", "LuaEntity.use_transitional_requests"]],
  ["2.0.50", ["LuaEntity.set_inventory_size_override", "LuaEntity.get_inventory_size_override"]],
  ["2.0.55", ["LuaHelpers.game_version", "LuaHelpers.compare_versions"]],
  ["2.0.56", ["LuaInventory.weight", "LuaInventory.max_weight", "LuaEntityPrototype.get_fluid_capacity",
              "LuaEntity.inventory_supports_bar", "LuaEntity.get_inventory_bar", "LuaEntity.set_inventory_bar",
              "LuaEntity.inventory_supports_filters", "LuaEntity.is_inventory_filtered"]],
  ["2.0.64", ["LuaItemCommon.blueprint_description", "LuaRecord.blueprint_description"]],
  ["2.0.66", ["LuaRecord.is_preview"]],
  ["2.0.67", ["LuaInventory.get_item_count_filtered", "LuaInventory.get_item_quality_counts",
              "LuaFluidBox.get_fluid_segment_extent_bounding_box", "LuaRecord.export_record",
              "LuaRecord.get_selected_record", "LuaItemCommon.entity_logistic_sections",
              "LuaItemCommon.entity_request_from_buffers", "LuaHelpers.multilingual_to_lower"]],
  ["2.0.69", ["LuaItemCommon.entity_logistics_enabled", "LuaEntity.mining_area"]],
];
const FIRST_RELEASE = "2.0.7";

/// Names Lua 5.2's libraries give (string methods are called on values: s:match()).
const LUA = ["byte", "char", "dump", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep",
  "reverse", "sub", "upper", "concat", "insert", "pack", "remove", "sort", "unpack", "abs", "ceil",
  "floor", "huge", "max", "min", "fmod", "modf", "pi", "sqrt", "random", "maxinteger", "traceback",
  "getinfo", "band", "bor", "bxor", "lshift", "rshift", "loaded"];

function walk(node, visit) {
  if (!node || typeof node !== "object") return;
  if (Array.isArray(node)) return node.forEach((n) => walk(n, visit));
  if (node.type) visit(node);
  for (const [k, v] of Object.entries(node)) if (k !== "loc") walk(v, visit);
}

/// JSON field names of the contract (`"name":` in docs/mod-interface.md): data, not API.
function contractFields(docFile) {
  return [...fs.readFileSync(docFile, "utf8").matchAll(/"([a-z_]+)"\s*:/g)].map((m) => m[1]);
}

/// name -> [where used]; and the set of names the mod makes itself.
function scan(modDir, docFile) {
  const luaparse = require(path.resolve(__dirname, "../node/node_modules/luaparse"));
  const used = new Map();
  const defined = new Set(contractFields(docFile));
  const files = [];
  const collect = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) collect(p);
      else if (e.name.endsWith(".lua")) files.push(p);
    }
  };
  collect(modDir);
  for (const file of files) {
    const ast = luaparse.parse(fs.readFileSync(file, "utf8"),
      { luaVersion: "5.2", locations: true, encodingMode: "pseudo-latin1" });
    const rel = path.relative(modDir, file);
    const use = (name, loc) => {
      if (!used.has(name)) used.set(name, []);
      used.get(name).push(`${rel}:${loc.start.line}`);
    };
    const keyName = (n) => (n.type === "MemberExpression" ? n.identifier.name
      : n.type === "IndexExpression" && n.index.type === "StringLiteral" ? n.index.value : null);
    walk(ast, (n) => {
      if (n.type === "TableKeyString") defined.add(n.key.name);
      if (n.type === "StringLiteral") defined.add(n.value);
      if (n.type === "AssignmentStatement") n.variables.forEach((v) => keyName(v) && defined.add(keyName(v)));
      if (n.type === "FunctionDeclaration" && n.identifier && keyName(n.identifier)) defined.add(keyName(n.identifier));
      const name = keyName(n);
      if (name) use(name, n.loc);
    });
  }
  return { used, defined };
}

function known(api) {
  const out = new Set(LUA);
  for (const cls of Object.values(api.classes)) Object.keys(cls.members).forEach((m) => out.add(m));
  for (const set of [api.conceptFields, api.prototypeFields, api.commonFields]) set.forEach((f) => out.add(f));
  for (const d of api.defines) out.add(d.split(".").pop());
  Object.keys(api.globals).forEach((g) => out.add(g));
  return out;
}

/// Used names that exist nowhere: [{name, where}].
function unknownMembers(usage, api) {
  const names = known(api);
  const out = [];
  for (const [name, where] of usage.used) {
    if (!names.has(name) && !usage.defined.has(name)) out.push({ name, where });
  }
  return out;
}

const parts = (v) => v.split(".").map(Number);
const newer = (a, b) => {
  const x = parts(a), y = parts(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
};

/// The lowest release whose API has every member the mod uses: for each used name, the oldest
/// release of any class that has it (a name shared by classes may be any of them); the newest
/// of those over all names. Returns {floor, because}.
function versionFloor(usage, api) {
  const since = new Map();
  for (const [version, members] of SINCE) {
    for (const m of members) {
      since.set(m, version);
      if (m.startsWith("LuaItemCommon.")) since.set(m.replace("LuaItemCommon", "LuaItemStack"), version);
    }
  }
  let floor = FIRST_RELEASE, because = "storage, helpers and prototypes";
  for (const name of usage.used.keys()) {
    if (usage.defined.has(name)) continue;
    let oldest = null;
    for (const [cls, c] of Object.entries(api.classes)) {
      if (!c.members[name]) continue;
      const v = since.get(`${cls}.${name}`) || since.get(`${cls}.*`) || FIRST_RELEASE;
      if (oldest === null || newer(oldest, v)) oldest = v;
    }
    if (oldest && newer(oldest, floor)) {
      floor = oldest;
      because = name;
    }
  }
  return { floor, because };
}

module.exports = { scan, unknownMembers, versionFloor };

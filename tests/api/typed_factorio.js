// Derives, at test time, the facts the API check needs from the npm package typed-factorio (the
// Factorio API's machine-readable description as TypeScript declarations): runtime classes and
// their members (method or attribute, readable/writable, parameter names), global objects,
// defines, the field names of concepts and events, and the required fields of data-stage
// prototypes. Only these derived facts leave this file, never the package's text.
"use strict";
const fs = require("fs");
const path = require("path");

/// The package's directory and the TypeScript compiler, from tests/node's node_modules.
function locate(nodeModules) {
  const ts = require(path.resolve(nodeModules, "typescript"));
  const root = path.resolve(nodeModules, "typed-factorio");
  return { ts, root };
}

function parse(ts, file) {
  return ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
}

function nameOf(ts, node) {
  if (!node || !node.name) return undefined;
  const n = node.name;
  if (ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isNumericLiteral(n)) return n.text;
  return undefined;
}

/// Every interface and type alias declared anywhere in `sf`, by name.
function declarations(ts, sf) {
  const interfaces = new Map();
  const aliases = new Map();
  const visit = (node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
    else if (ts.isTypeAliasDeclaration(node)) aliases.set(node.name.text, node);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { interfaces, aliases };
}

function paramNames(ts, params) {
  // A leading underscore marks a Lua name that is a TypeScript keyword (`_function`).
  return params.map((p) => (p.dotDotDotToken ? "..." : p.name.getText().replace(/^_/, "")));
}

/// Members of one interface (without its bases): name -> {kind, read, write, overloads}.
function ownMembers(ts, node, out) {
  for (const m of node.members) {
    const name = nameOf(ts, m);
    if (ts.isIndexSignatureDeclaration(m)) {
      out.index = true;
      continue;
    }
    if (name === undefined) continue;
    if (ts.isMethodSignature(m)) {
      const e = out.members[name] || { kind: "method", overloads: [] };
      e.overloads.push(paramNames(ts, m.parameters));
      out.members[name] = e;
    } else if (ts.isPropertySignature(m)) {
      const readonly = (m.modifiers || []).some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword);
      out.members[name] = { kind: "attribute", read: true, write: !readonly };
    } else if (ts.isGetAccessorDeclaration(m) || ts.isSetAccessorDeclaration(m)) {
      const e = out.members[name] || { kind: "attribute", read: false, write: false };
      if (ts.isGetAccessorDeclaration(m)) e.read = true;
      else e.write = true;
      out.members[name] = e;
    }
  }
}

/// A class with the members of its bases; `extends Array<…>` means `#` and integer indexing.
function classOf(ts, decls, name, seen = new Set()) {
  const out = { members: {}, index: false, length: false };
  if (seen.has(name)) return out;
  seen.add(name);
  const node = decls.interfaces.get(name);
  if (!node) return null;
  for (const clause of node.heritageClauses || []) {
    for (const t of clause.types) {
      const base = t.expression.getText();
      if (base === "Array" || base === "ReadonlyArray") {
        out.index = out.length = true;
        continue;
      }
      const b = classOf(ts, decls, base, seen);
      if (!b) continue;
      Object.assign(out.members, b.members);
      out.index = out.index || b.index;
      out.length = out.length || b.length;
    }
  }
  ownMembers(ts, node, out);
  if (out.length) delete out.members.length; // the `#` operator, not a Lua attribute
  return out;
}

function runtimeClasses(ts, root) {
  const sf = parse(ts, path.join(root, "runtime/generated/classes.d.ts"));
  const decls = declarations(ts, sf);
  const classes = {};
  for (const name of decls.interfaces.keys()) {
    if (/^Lua[A-Z]/.test(name)) classes[name] = classOf(ts, decls, name);
  }
  // LuaGuiElement is a union over element types: a member of any of them is a member.
  const gui = classOf(ts, decls, "BaseGuiElement");
  for (const name of decls.interfaces.keys()) {
    if (!/GuiElementMembers$/.test(name)) continue;
    const c = classOf(ts, decls, name);
    for (const [m, e] of Object.entries(c.members)) {
      const have = gui.members[m];
      if (have && have.kind === "attribute" && e.kind === "attribute") {
        have.read = have.read || e.read;
        have.write = have.write || e.write;
      } else if (!have) gui.members[m] = e;
    }
  }
  classes.LuaGuiElement = gui;
  return classes;
}

/// `declare const game: LuaGameScript` and the like: global name -> class name.
function globalObjects(ts, root) {
  const out = {};
  const files = ["runtime/generated/global-objects.d.ts", "common/helpers-global.d.ts"];
  for (const f of files) {
    const visit = (node) => {
      if (ts.isVariableDeclaration(node) && node.type) {
        const text = node.type.getText();
        out[node.name.getText()] = text.replace(/^import\([^)]*\)\./, "");
      }
      ts.forEachChild(node, visit);
    };
    visit(parse(ts, path.join(root, f)));
  }
  out.settings = "LuaSettings"; // declared in the common file, extended to LuaSettings at runtime
  return out;
}

/// Every defines path ("defines.events.on_tick", "defines.inventory.chest", ...).
function defines(ts, root) {
  const out = new Set();
  const walk = (node, prefix) => {
    for (const s of node.statements || (node.body && node.body.statements) || []) {
      if (ts.isModuleDeclaration(s)) {
        out.add(`${prefix}.${s.name.text}`);
        walk(s.body, `${prefix}.${s.name.text}`);
      }
      else if (ts.isEnumDeclaration(s)) {
        out.add(`${prefix}.${s.name.text}`);
        for (const m of s.members) out.add(`${prefix}.${s.name.text}.${m.name.getText()}`);
      } else if (ts.isVariableStatement(s)) {
        for (const d of s.declarationList.declarations) out.add(`${prefix}.${d.name.getText()}`);
      }
    }
  };
  const find = (node) => {
    if (ts.isModuleDeclaration(node) && node.name.text === "defines") {
      out.add("defines");
      walk(node.body, "defines");
      return;
    }
    ts.forEachChild(node, find);
  };
  find(parse(ts, path.join(root, "runtime/generated/defines.d.ts")));
  return out;
}

/// Names of every property, method, function and namespace declared in the given files: the
/// fields a concept, an event or a prototype can have, and Factorio's Lua library additions.
function fieldNames(ts, root, files) {
  const out = new Set();
  for (const f of files) {
    const visit = (node) => {
      const named = ts.isPropertySignature(node) || ts.isMethodSignature(node)
        || ts.isFunctionDeclaration(node) || ts.isModuleDeclaration(node) || ts.isVariableDeclaration(node);
      if (named && nameOf(ts, node)) out.add(nameOf(ts, node));
      ts.forEachChild(node, visit);
    };
    visit(parse(ts, path.join(root, f)));
  }
  return out;
}

/// Data-stage prototypes: the `type` string -> {required, optional} field names (bases included).
function prototypes(ts, root) {
  const sf = parse(ts, path.join(root, "prototype/generated/prototypes.d.ts"));
  const decls = declarations(ts, sf);
  const fields = (name, seen = new Set()) => {
    const node = decls.interfaces.get(name);
    const out = { required: new Set(), optional: new Set(), types: [] };
    if (!node || seen.has(name)) return out;
    seen.add(name);
    for (const clause of node.heritageClauses || []) {
      for (const t of clause.types) {
        const b = fields(t.expression.getText(), seen);
        b.required.forEach((x) => out.required.add(x));
        b.optional.forEach((x) => out.optional.add(x));
      }
    }
    for (const m of node.members) {
      const n = nameOf(ts, m);
      if (!n || !ts.isPropertySignature(m)) continue;
      if (n === "type" && m.type) {
        out.types = (m.type.types || [m.type]).filter((t) => ts.isLiteralTypeNode(t)).map((t) => t.literal.text);
      }
      out.required.delete(n);
      out.optional.delete(n);
      (m.questionToken ? out.optional : out.required).add(n);
    }
    return out;
  };
  const byType = {};
  for (const name of decls.interfaces.keys()) {
    const f = fields(name);
    for (const t of f.types) {
      // An abstract base lists many types; the concrete prototype's own interface wins.
      if (!byType[t] || f.types.length < byType[t].width) {
        byType[t] = { width: f.types.length, required: [...f.required].sort(), optional: [...f.optional].sort() };
      }
    }
  }
  for (const t of Object.keys(byType)) delete byType[t].width;
  return byType;
}

/// Everything the checks use, derived from the installed package.
function derive(nodeModules) {
  const { ts, root } = locate(nodeModules);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  const runtimeFiles = ["runtime/generated/concepts.d.ts", "runtime/generated/events.d.ts"];
  return {
    factorioVersion: pkg.factorioVersion,
    packageVersion: pkg.version,
    classes: runtimeClasses(ts, root),
    globals: globalObjects(ts, root),
    defines: defines(ts, root),
    conceptFields: fieldNames(ts, root, runtimeFiles),
    prototypeFields: fieldNames(ts, root, ["prototype/generated/prototypes.d.ts", "prototype/generated/types.d.ts"]),
    commonFields: fieldNames(ts, root, ["common/types.d.ts", "common/settings-global.d.ts",
      "settings/types.d.ts", "lualib/util.d.ts", "lualib/mod-gui.d.ts"]),
    prototypes: prototypes(ts, root),
  };
}

module.exports = { derive };

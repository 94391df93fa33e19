// What stripe-node's own TypeScript declarations say an object carries, to check kassa's objects
// against: a typed client reads every field its types declare as always present (`name: T | null`,
// no `?`), and gets `undefined` where kassa leaves one out.
//
//   import { missingFields } from "./sdk-types.mjs";
//   missingFields(session, "Checkout/Sessions", "Session")   // → ["Session.client_secret", …]
//
// The declarations are read from node_modules/stripe/cjs/**/*.d.ts, the package the suite runs
// (its version pinned in package-lock.json). Interfaces are found by their indentation, which the
// generated files keep exactly: a namespace or interface opens `{` at some indent and closes `}` at
// the same one, and its fields sit four spaces deeper. Nested types (`Session.CustomerDetails`)
// resolve like TypeScript's names do: the innermost enclosing namespace first. A type from another
// file (`Price` in LineItems.d.ts) resolves to that resource's own file.

import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules", "stripe", "cjs");

/** `${file}:${qualified name}` → { field: { optional, type } } */
let types = null;
/** top-level interface name → the files declaring it */
const topLevel = new Map();

function dtsFiles(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? dtsFiles(p) : p.endsWith(".d.ts") ? [p] : [];
  });
}

function load() {
  if (types) return;
  types = new Map();
  for (const abs of dtsFiles(ROOT)) {
    const file = path.relative(path.join(ROOT, "resources"), abs).replace(/\.d\.ts$/, "");
    const stack = [];
    for (const line of readFileSync(abs, "utf8").split("\n")) {
      const indent = line.search(/\S/);
      if (indent < 0) continue;
      let m;
      if (/^\s*}/.test(line)) {
        if (stack.at(-1)?.indent === indent) stack.pop();
      } else if ((m = /^\s*(?:export )?(?:declare )?namespace (\w+) \{/.exec(line))) {
        stack.push({ indent, name: m[1], kind: "namespace" });
      } else if ((m = /^\s*(?:export )?(?:declare )?interface (\w+)(?:<[^>]*>)?(?: extends [^{]*)? \{/.exec(line))) {
        stack.push({ indent, name: m[1], kind: "interface" });
        const name = stack.map((s) => s.name).join(".");
        types.set(`${file}:${name}`, {});
        if (stack.length === 1) topLevel.set(m[1], [...(topLevel.get(m[1]) ?? []), file]);
      } else if (stack.at(-1)?.kind === "interface" && indent === stack.at(-1).indent + 4) {
        if ((m = /^\s*(\w+)(\??): (.*?);?$/.exec(line))) {
          types.get(`${file}:${stack.map((s) => s.name).join(".")}`)[m[1]] = { optional: m[2] === "?", type: m[3] };
        }
      }
    }
  }
}

/** The declared type `name` as seen from inside `scope` (a qualified name) of `file`. */
function resolve(file, scope, name) {
  const parts = scope.split(".");
  for (let i = parts.length; i >= 0; i--) {
    const key = `${file}:${[...parts.slice(0, i), name].join(".")}`;
    if (types.has(key)) return { file, name: [...parts.slice(0, i), name].join(".") };
  }
  const head = name.split(".")[0];
  const files = topLevel.get(head) ?? [];
  // `Product` is the resource in Products.d.ts, not Climate/Products.d.ts's.
  const own = [`${head}s`, head].map((f) => files.find((x) => x === f)).find(Boolean) ?? files[0];
  return own && types.has(`${own}:${name}`) ? { file: own, name } : null;
}

/**
 * The fields `value` lacks that its declared type, and the declared types of the objects and
 * arrays of objects inside it, say are always present. Paths look like `Session.customer_details.name`.
 */
export function missingFields(value, file, name, where = name, out = []) {
  load();
  const fields = types.get(`${file}:${name}`);
  if (!fields) throw new Error(`no declaration of ${name} in ${file}.d.ts`);
  for (const [field, { optional, type }] of Object.entries(fields)) {
    if (!(field in value)) {
      if (!optional) out.push(`${where}.${field}`);
      continue;
    }
    const v = value[field];
    if (v === null || typeof v !== "object") continue;
    const list = /ApiList<(\w+)>/.exec(type);
    const candidates = list ? [list[1]] : [...type.matchAll(/\b[A-Z][\w.]*/g)].map((m) => m[0]);
    for (const candidate of candidates) {
      const t = resolve(file, name, candidate);
      if (!t) continue;
      const elements = list ? (v.data ?? []) : Array.isArray(v) ? v : [v];
      const label = list ? `${where}.${field}.data` : `${where}.${field}`;
      elements.forEach((e, i) => {
        if (e && typeof e === "object") {
          missingFields(e, t.file, t.name, Array.isArray(v) || list ? `${label}[${i}]` : label, out);
        }
      });
      break;
    }
  }
  return out;
}

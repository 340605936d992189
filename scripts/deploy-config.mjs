// The deploy config: wrangler.jsonc (tracked, the same for everyone) plus this account's ids
// (deploy-ids.json, untracked) make wrangler.deploy[.<env>].jsonc (untracked, at the repo root
// so `main`, `assets`, `migrations_dir` and the build command resolve as in wrangler.jsonc).
// A named environment's block is completed from the top level: bindings it leaves out are the
// top level's (its own database, its own rate-limit namespaces), and its vars go over the
// top level's. Used by scripts/deploy.sh; docs/deploying.md explains it.
//
//   node scripts/deploy-config.mjs generate [--env E] [--record]   writes the config, prints its path
//   node scripts/deploy-config.mjs get [--env E] KEY                worker | planet_url | d1 (name=binding lines)
//   node scripts/deploy-config.mjs set-d1 [--env E] BINDING NAME ID records a database id
import { readFileSync, writeFileSync, existsSync, renameSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const PLACEHOLDER_D1 = "00000000-0000-0000-0000-000000000000";
export const EXAMPLE_URL = "https://orrery.example.workers.dev";
/** Keys wrangler does not inherit into a named environment that deploy fills from the top
 *  level when the block leaves them out (a future binding kind is one more name here). */
export const FILLED = ["durable_objects", "d1_databases", "ratelimits", "ai", "vectorize"];
const KEY = (env) => env || "default";

/** JSON with comments (outside strings) and trailing commas, as wrangler reads it. */
export function parseJsonc(text) {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
    } else if (c === '"') { inString = true; out += c; }
    else if (c === "/" && text[i + 1] === "/") { while (i < text.length && text[i] !== "\n") i++; out += "\n"; }
    else if (c === "/" && text[i + 1] === "*") { i = text.indexOf("*/", i + 2); if (i < 0) throw new Error("unclosed /* comment"); i++; }
    else out += c;
  }
  // Trailing commas, outside strings.
  let json = "";
  inString = false;
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (inString) { json += c; if (c === "\\") json += out[++i] ?? ""; else if (c === '"') inString = false; continue; }
    if (c === '"') inString = true;
    if (c === "," && /^\s*[}\]]/.test(out.slice(i + 1))) continue;
    json += c;
  }
  return JSON.parse(json);
}

export function readIds(file) {
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
}

function writeIds(file, ids) {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(ids, null, 2)}\n`);
  renameSync(tmp, file);
}

export function checkEnvName(env) {
  if (env && !/^[a-z0-9][a-z0-9-]*$/.test(env)) {
    throw new Error(`ENV=${env}: an environment name is lower-case letters, digits and '-'`);
  }
}

/** The file deploy writes for `env` ("" is the top level). */
export const outputName = (env) => (env ? `wrangler.deploy.${env}.jsonc` : "wrangler.deploy.jsonc");

/** Every rate-limit namespace id this checkout knows of: the config's and the recorded ones. */
function usedNamespaceIds(raw, ids) {
  const used = new Set();
  for (const r of raw.ratelimits || []) used.add(String(r.namespace_id));
  for (const block of Object.values(raw.env || {})) for (const r of block.ratelimits || []) used.add(String(r.namespace_id));
  for (const rec of Object.values(ids)) for (const v of Object.values(rec.ratelimits || {})) used.add(String(v));
  return used;
}

/**
 * The deployable config for `env`, from the parsed wrangler.jsonc and the ids. Returns
 * { config, worker, record } where `record` is what this env's ids entry should become
 * (rate-limit namespaces chosen here are recorded so they never change under a planet).
 */
export function build(raw, ids, env = "") {
  checkEnvName(env);
  const top = structuredClone(raw);
  delete top.env;
  const rec = structuredClone(ids[KEY(env)] || {});
  rec.d1 ||= {};
  let target = top;
  let worker = top.name;
  if (env) {
    const block = raw.env?.[env];
    if (!block) {
      throw new Error(`ENV=${env}: wrangler.jsonc has no "env": { "${env}": { … } } block (docs/deploying.md, "Several planets")`);
    }
    target = structuredClone(block);
    worker = target.name || `${top.name}-${env}`;
    target.name = worker;
    for (const key of FILLED) {
      if (target[key] === undefined && top[key] !== undefined) {
        target[key] = structuredClone(top[key]);
        // Its own database (named after its Worker), never the top level's.
        if (key === "d1_databases") {
          for (const d of target[key]) {
            d.database_name = d.binding === "DB" ? worker : `${worker}-${d.binding.toLowerCase()}`;
            d.database_id = PLACEHOLDER_D1;
          }
        }
        // Its own rate-limit counters: the top level's ids moved up by a free multiple of 100.
        if (key === "ratelimits") for (const r of target[key]) r.namespace_id = null;
      }
    }
    target.vars = { ...(top.vars || {}), ...(block.vars || {}) };
  }
  // Database ids: the recorded one while the name still matches, else the placeholder.
  for (const d of target.d1_databases || []) {
    const known = rec.d1[d.binding];
    if (known && known.database_name === d.database_name) d.database_id = known.database_id;
    else if (!d.database_id) d.database_id = PLACEHOLDER_D1;
  }
  // Rate-limit namespaces: one recorded in deploy-ids.json wins (written there by hand, the
  // top level's can move off ids another Worker of the account uses); else an id written in
  // wrangler.jsonc stands; one left to deploy is chosen, recorded the first time and kept.
  for (const r of target.ratelimits || []) if (rec.ratelimits?.[r.name]) r.namespace_id = String(rec.ratelimits[r.name]);
  const chosen = target.ratelimits?.filter((r) => r.namespace_id === null) || [];
  if (chosen.length) {
    rec.ratelimits ||= {};
    const used = usedNamespaceIds(raw, ids);
    const base = Object.fromEntries((top.ratelimits || []).map((r) => [r.name, Number(r.namespace_id)]));
    const offsets = Object.entries(rec.ratelimits).map(([n, v]) => Number(v) - (base[n] ?? NaN)).filter((o) => o > 0);
    for (const r of chosen) {
      const tries = [...offsets, ...Array.from({ length: 1000 }, (_, k) => 100 * (k + 1))];
      const offset = tries.find((o) => !used.has(String(base[r.name] + o)));
      r.namespace_id = String(base[r.name] + offset);
      used.add(r.namespace_id);
      rec.ratelimits[r.name] = r.namespace_id;
    }
  }
  const config = env ? { ...top, env: { [env]: target } } : top;
  return { config, worker, target, record: rec };
}

export function render(config, env) {
  const from = env ? `wrangler.jsonc (env "${env}")` : "wrangler.jsonc";
  return `// GENERATED by scripts/deploy.sh from ${from} and deploy-ids.json: edit those, not this.\n` +
    `// Use it with any wrangler command: npx wrangler <command> --config ${outputName(env)}${env ? ` --env ${env}` : ""}\n` +
    `${JSON.stringify(config, null, 2)}\n`;
}

function main(argv) {
  const args = [...argv];
  const cmd = args.shift();
  let env = "";
  let record = false;
  const rest = [];
  while (args.length) {
    const a = args.shift();
    if (a === "--env") env = args.shift() || "";
    else if (a === "--record") record = true;
    else rest.push(a);
  }
  const source = path.resolve(ROOT, process.env.DEPLOY_SOURCE || "wrangler.jsonc");
  const idsFile = path.resolve(ROOT, process.env.DEPLOY_IDS || "deploy-ids.json");
  const raw = parseJsonc(readFileSync(source, "utf8"));
  const ids = readIds(idsFile);
  const built = build(raw, ids, env);
  if (cmd === "generate") {
    const out = path.join(ROOT, outputName(env));
    writeFileSync(out, render(built.config, env));
    if (record) writeIds(idsFile, { ...ids, [KEY(env)]: built.record });
    console.log(path.relative(ROOT, out));
  } else if (cmd === "get") {
    const what = rest[0];
    if (what === "worker") console.log(built.worker);
    else if (what === "planet_url") console.log(built.target.vars?.PLANET_URL || "");
    else if (what === "d1") for (const d of built.target.d1_databases || []) console.log(`${d.database_name}=${d.binding}=${d.database_id}`);
    else throw new Error(`get: unknown key ${what}`);
  } else if (cmd === "set-d1") {
    const [binding, name, id] = rest;
    if (!binding || !name || !/^[0-9a-f-]{36}$/.test(id || "")) throw new Error("set-d1 BINDING NAME UUID");
    const rec = { ...built.record, d1: { ...built.record.d1, [binding]: { database_name: name, database_id: id } } };
    writeIds(idsFile, { ...ids, [KEY(env)]: rec });
  } else {
    throw new Error(`usage: deploy-config.mjs generate|get|set-d1 [--env E] …`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try { main(process.argv.slice(2)); } catch (e) { console.error(`deploy-config: ${e.message}`); process.exit(1); }
}

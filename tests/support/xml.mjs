// A small strict XML parser for the tests (no dependency): well-formedness (one root,
// matched tags, quoted attributes, no duplicate attributes, only the predefined and
// numeric entities, no stray `<` or `&`) and namespaces (every prefix declared; each
// element gets its namespace URI). Throws on the first error, with its offset.
const NAME = /^[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?/;
const ENTITIES = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function unescape(s, at) {
  if (/[<]/.test(s)) throw new Error(`'<' in text or attribute at ${at}`);
  return s.replace(/&([^;\s&]*);?/g, (m, ref) => {
    if (!m.endsWith(";")) throw new Error(`bare '&' at ${at}`);
    if (ref in ENTITIES) return ENTITIES[ref];
    const num = /^#x([0-9a-fA-F]+)$/.exec(ref) || /^#([0-9]+)$/.exec(ref);
    if (num) return String.fromCodePoint(parseInt(num[1], ref[1] === "x" ? 16 : 10));
    throw new Error(`unknown entity &${ref}; at ${at}`);
  });
}

export function parseXml(text) {
  let i = 0;
  const stack = [];
  let root = null;
  const fail = (why) => { throw new Error(`${why} at ${i}: ${JSON.stringify(text.slice(i, i + 40))}`); };
  if (text.startsWith("<?xml")) { i = text.indexOf("?>") + 2; if (i < 2) fail("unclosed declaration"); }
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = lt < 0 ? text.slice(i) : text.slice(i, lt);
    if (chunk) {
      const t = unescape(chunk, i);
      if (!stack.length) { if (t.trim()) fail("text outside the root"); }
      else stack.at(-1).text += t;
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith("<!--", i)) { const e = text.indexOf("-->", i); if (e < 0) fail("unclosed comment"); i = e + 3; continue; }
    if (text.startsWith("<![CDATA[", i)) {
      const e = text.indexOf("]]>", i); if (e < 0 || !stack.length) fail("bad CDATA");
      stack.at(-1).text += text.slice(i + 9, e); i = e + 3; continue;
    }
    if (text.startsWith("<?", i)) { const e = text.indexOf("?>", i); if (e < 0) fail("unclosed PI"); i = e + 2; continue; }
    if (text.startsWith("<!", i)) fail("DOCTYPE or markup declaration");
    if (text.startsWith("</", i)) {
      const m = NAME.exec(text.slice(i + 2));
      if (!m) fail("bad end tag");
      const open = stack.pop();
      if (!open || open.name !== m[0]) fail(`</${m[0]}> does not close <${open?.name}>`);
      i += 2 + m[0].length;
      const gt = /^\s*>/.exec(text.slice(i)); if (!gt) fail("bad end tag"); i += gt[0].length;
      continue;
    }
    const m = NAME.exec(text.slice(i + 1));
    if (!m) fail("bad start tag");
    const el = { name: m[0], attrs: {}, children: [], text: "", ns: {} };
    i += 1 + m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(text.slice(i))[0]; i += ws.length;
      if (text.startsWith("/>", i)) { i += 2; el.empty = true; break; }
      if (text[i] === ">") { i += 1; break; }
      if (!ws) fail("no space before attribute");
      const a = /^([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)\s*=\s*("[^"]*"|'[^']*')/.exec(text.slice(i));
      if (!a) fail("bad attribute");
      if (a[1] in el.attrs) fail(`duplicate attribute ${a[1]}`);
      el.attrs[a[1]] = unescape(a[2].slice(1, -1), i);
      i += a[0].length;
    }
    // Namespaces: inherited, then this element's declarations.
    const parent = stack.at(-1);
    el.scope = { ...(parent ? parent.scope : { xml: "http://www.w3.org/XML/1998/namespace" }) };
    for (const [k, v] of Object.entries(el.attrs)) {
      if (k === "xmlns") el.scope[""] = v;
      else if (k.startsWith("xmlns:")) el.scope[k.slice(6)] = v;
    }
    const [prefix, local] = el.name.includes(":") ? el.name.split(":") : ["", el.name];
    if (prefix && !(prefix in el.scope)) fail(`undeclared prefix ${prefix}`);
    for (const k of Object.keys(el.attrs)) {
      const p = k.includes(":") ? k.split(":")[0] : "";
      if (p && p !== "xmlns" && !(p in el.scope)) fail(`undeclared prefix ${p}`);
    }
    el.uri = el.scope[prefix] ?? "";
    el.local = local;
    if (parent) parent.children.push(el);
    else if (root) fail("a second root");
    else root = el;
    if (!el.empty) stack.push(el);
  }
  if (stack.length) throw new Error(`unclosed <${stack.at(-1).name}>`);
  if (!root) throw new Error("no root element");
  return root;
}

/** Every element under `el` (itself included) in namespace `uri` with local name `local`. */
export function all(el, uri, local) {
  const out = [];
  const walk = (e) => { if (e.uri === uri && e.local === local) out.push(e); e.children.forEach(walk); };
  walk(el);
  return out;
}

/** The first child of `el` in namespace `uri` with local name `local`. */
export const child = (el, uri, local) => el.children.find((c) => c.uri === uri && c.local === local);
